"""Scrubbing secrets out of text before anyone sees it.

Every message that may echo a credential (a driver error naming a database URL, an API
error body quoting a token) goes through `scrub` with the secrets it may contain.
"""

from __future__ import annotations

from collections.abc import Iterable

MASK = "***"


def scrub(text: str, secrets: Iterable[str], mask: str = MASK) -> str:
    """`text` with every occurrence of every secret replaced by `mask`.

    Longer secrets go first, so that a secret containing another is masked whole.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, mask)
    return text
