"""Action log URLs: which backend one selects, and how to show it without its secrets.

A URL is shown to people only through `redact_url`, and any driver message that may echo
part of it goes through `scrub_url` first: the password never reaches a message or a log.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from engine.core.secrets import MASK, scrub

POSTGRES_SCHEMES = ("postgresql", "postgres")
_SECRET_PARAMS = re.compile(r"(?i)(^|[?&])((?:ssl)?password)=([^&]*)")


def is_postgres(url: str) -> bool:
    return url.split(":", 1)[0].lower() in POSTGRES_SCHEMES


def redact_url(url: str) -> str:
    """`postgresql://user:***@host/db`: the password (in the user info or the query) masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        # rpartition: an unescaped '@' in the password still ends up masked
        userinfo, _, hosts = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}{':' + MASK if colon else ''}@{hosts}"
    query = _SECRET_PARAMS.sub(lambda m: f"{m[1]}{m[2]}={MASK}", parts.query)
    text = f"{parts.scheme}://{netloc}{parts.path}"
    if query:
        text += f"?{query}"
    if parts.fragment:
        text += f"#{parts.fragment}"
    return text


def secrets_of(url: str) -> list[str]:
    """The password as written in the URL and decoded, longest first."""
    found: set[str] = set()
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    if "@" in parts.netloc:
        userinfo = parts.netloc.rpartition("@")[0]
        if ":" in userinfo:
            found.add(userinfo.partition(":")[2])
    found.update(m[3] for m in _SECRET_PARAMS.finditer(parts.query))
    found |= {unquote(s) for s in found}
    return sorted((s for s in found if s), key=len, reverse=True)


def scrub_url(text: str, url: str) -> str:
    """`text` with the URL replaced by its redacted form and every occurrence of its password masked."""
    return scrub(text.replace(url, redact_url(url)), secrets_of(url))
