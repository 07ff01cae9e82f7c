"""Posting to the team's Slack incoming webhook (RULERUN_SLACK_WEBHOOK).

The webhook URL is a secret: it is never printed, logged or put in an error message.
"""

from __future__ import annotations

import os

SLACK_ENV = "RULERUN_SLACK_WEBHOOK"
TIMEOUT = 10


class SlackFailed(Exception):
    """The post failed; the message names the error type only (never the URL)."""


def post(text: str) -> bool:
    """Post `text`; False when no webhook is configured. Raises SlackFailed when the post fails."""
    url = os.environ.get(SLACK_ENV)
    if not url:
        return False
    import httpx

    try:
        httpx.post(url, json={"text": text}, timeout=TIMEOUT).raise_for_status()
    except httpx.HTTPError as exc:
        raise SlackFailed(type(exc).__name__) from None
    return True
