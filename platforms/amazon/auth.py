"""Amazon Ads hosts per region, and access tokens from Login with Amazon (LWA).

An Amazon Ads API call carries a short-lived access token that LWA issues for the
account's refresh token and client (PLATFORM-FACTS 4.1). `AccessTokens` asks for one on
first use and keeps it until shortly before it expires; `renew` forgets it at once (the
adapter calls it when the API answers 401, then retries the call once).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.core.execution import AdapterError, AuthError, PermanentError
from platforms.http import HttpClient

CLIENT_ID = "AMAZON_ADS_CLIENT_ID"
CLIENT_SECRET = "AMAZON_ADS_CLIENT_SECRET"
REFRESH_TOKEN = "AMAZON_ADS_REFRESH_TOKEN"
TOKEN_PATH = "/auth/o2/token"
EARLY = 60.0  # seconds before its expiry a token is replaced (a call takes time to arrive)


@dataclass(frozen=True)
class Region:
    api: str  # the Amazon Ads API host
    token: str  # the LWA token endpoint


REGIONS = {
    "NA": Region("https://advertising-api.amazon.com", "https://api.amazon.com" + TOKEN_PATH),
    "EU": Region("https://advertising-api-eu.amazon.com", "https://api.amazon.co.uk" + TOKEN_PATH),
    "FE": Region("https://advertising-api-fe.amazon.com", "https://api.amazon.co.jp" + TOKEN_PATH),
}


def region_for(region: str | None, endpoint: str | None) -> Region:
    """The hosts of an account: its `endpoint` (a test server answering both) or its region's (default NA)."""
    if endpoint:
        base = endpoint.rstrip("/")
        return Region(base, base + TOKEN_PATH)
    name = (region or "NA").upper()
    if name not in REGIONS:
        raise PermanentError(f"unknown region {region!r}: use one of {', '.join(REGIONS)} (region: in rulerun.yaml)")
    return REGIONS[name]


class AccessTokens:
    """LWA access tokens for the refresh token and client in the environment, cached until they expire."""

    def __init__(self, http: HttpClient, url: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.http = http
        self.url = url
        self.clock = clock
        self.issued = 0  # tokens obtained (each is one call to LWA)
        self._token: str | None = None
        self._expires = 0.0

    @property
    def current(self) -> str | None:
        return self._token

    def token(self) -> str:
        if self._token is None or self.clock() >= self._expires - EARLY:
            self._fetch()
        assert self._token is not None
        return self._token

    def renew(self) -> str:
        self._token = None
        return self.token()

    def _fetch(self) -> None:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": os.environ.get(REFRESH_TOKEN, ""),
            "client_id": os.environ.get(CLIENT_ID, ""),
            "client_secret": os.environ.get(CLIENT_SECRET, ""),
        }
        self.issued += 1
        try:
            body = self.http.json("POST", self.url, data=form)
        except AdapterError as exc:
            raise _refused(exc) from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise PermanentError("Login with Amazon answered without an access token (malformed response)")
        try:
            lifetime = float(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token, self._expires = token, self.clock() + lifetime


def _refused(exc: AdapterError) -> AdapterError:
    """LWA's refusals as errors naming the variable to fix; rate limits and outages pass through."""
    if exc.retryable:
        return exc
    details: Any = exc.details if isinstance(exc.details, dict) else {}
    body = str(details.get("body") or "")
    if "invalid_grant" in body:
        return AuthError(
            "Login with Amazon refused the refresh token (invalid_grant: expired or revoked): "
            f"set {REFRESH_TOKEN} to a new refresh token"
        )
    if "invalid_client" in body or "unauthorized_client" in body:
        return AuthError(
            f"Login with Amazon refused the client (invalid_client): check {CLIENT_ID} and {CLIENT_SECRET}"
        )
    return AuthError(
        f"Login with Amazon issued no access token ({exc.message}): "
        f"check {CLIENT_ID}, {CLIENT_SECRET} and {REFRESH_TOKEN}"
    )
