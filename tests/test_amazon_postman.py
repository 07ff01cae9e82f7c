"""Every request the Amazon adapter sends matches a request of Amazon's official Postman collection.

The fake (tests/fakes/amazon_ads_fake.py) was written here and could share the adapter's
misunderstandings; this holds what the adapter actually sent against Amazon's own "Amazon
Ads API" collection (tests/specs/amazon-ads.postman_collection.json.gz, the whole file,
gzip-compressed). A request matches when the collection has one with:

- the same method and path template (`:reportId` and `{{campaignId}}` segments match any
  value; `{{api_url}}` is the API host, `{{token_url}}` Login with Amazon's token endpoint);
- query parameters it lists (disabled ones included: they are documented, just unset);
- the headers it lists among Authorization, Amazon-Advertising-API-ClientId and
  Amazon-Advertising-API-Scope, and no Scope where it has none;
- the same Accept when either sends one, and the same Content-Type for a request with a body;
- body keys it knows: every key path of the body (`campaigns[].budget.budget`) appears in a
  body of the collection with the same media type (or, for JSON and forms, in that request),
  except `maxResults` and `nextToken` in v3 list bodies, the documented paging the
  collection never shows (PLATFORM-FACTS 4.2: python-amazon-ad-api's v3 list docstrings).

The pre-signed report download is not an Amazon Ads API request and is left out.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine.core.execution import ActionRequest, EntityKey
from platforms.adapter import Account
from platforms.amazon.adapter import AmazonAdsAdapter
from tests.fakes.amazon_ads_fake import CLIENT_ID, ENV, PROFILE, AmazonAdsFake

COLLECTION = Path(__file__).parent / "specs" / "amazon-ads.postman_collection.json.gz"
AUTH_HEADERS = ("authorization", "amazon-advertising-api-clientid", "amazon-advertising-api-scope")
LIST_PAGING = {"maxResults", "nextToken"}


def _requests(items: list, path: tuple = ()) -> list[dict[str, Any]]:
    out = []
    for item in items:
        if "item" in item:
            out += _requests(item["item"], (*path, item["name"]))
        else:
            out.append({"name": " / ".join((*path, item["name"])), **item["request"]})
    return out


def _key_paths(value: Any, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        out = set()
        for k, v in value.items():
            here = f"{prefix}.{k}" if prefix else k
            out |= {here} | _key_paths(v, here)
        return out
    if isinstance(value, list):
        return set().union(*(_key_paths(v, f"{prefix}[]") for v in value)) if value else set()
    return set()


class Spec:
    """One request of the collection, in the terms the check compares."""

    def __init__(self, raw: dict[str, Any]):
        self.name = raw["name"]
        self.method = raw["method"]
        url = raw["url"] if isinstance(raw["url"], dict) else {"raw": raw["url"]}
        text = url["raw"].split("?", 1)[0]
        text = text.replace("{{api_url}}", "").replace("{{token_url}}", "/auth/o2/token")
        parts = [r"[^/]+" if s.startswith(":") or s.startswith("{{") else re.escape(s) for s in text.split("/")]
        self.path = re.compile("/".join(parts) + "$")
        self.query = {q["key"] for q in url.get("query", []) if q.get("key")}
        if "?" in url["raw"] and not url.get("query"):
            self.query |= {kv.split("=")[0] for kv in url["raw"].split("?", 1)[1].split("&")}
        self.headers = {h["key"].lower(): h["value"] for h in raw.get("header", []) if not h.get("disabled")}
        body = raw.get("body") or {}
        self.body_keys: set[str] = set()
        self.content_type = self.headers.get("content-type")
        if body.get("mode") == "urlencoded":
            self.content_type = "application/x-www-form-urlencoded"
            self.body_keys = {f["key"] for f in body.get("urlencoded", []) if not f.get("disabled")}
        elif body.get("mode") == "raw" and body.get("raw", "").strip():
            # a few bodies are not JSON (variables outside strings): they vouch for no key
            with contextlib.suppress(ValueError):
                self.body_keys = _key_paths(json.loads(body["raw"]))

    def media(self) -> str | None:
        ct = self.content_type or ""
        return ct if "vnd." in ct else None


@pytest.fixture(scope="module")
def specs() -> list[Spec]:
    collection = json.loads(gzip.decompress(COLLECTION.read_bytes()))
    return [Spec(r) for r in _requests(collection["item"])]


def _known_keys(specs: list[Spec]) -> dict[str, set[str]]:
    by_media: dict[str, set[str]] = defaultdict(set)
    for spec in specs:
        if spec.media():
            by_media[spec.media()] |= spec.body_keys
    return by_media


def mismatch(sent: dict[str, Any], spec: Spec, by_media: dict[str, set[str]]) -> str | None:
    """Why `sent` (a request the fake recorded) does not match `spec`; None when it does."""
    if sent["method"] != spec.method or not spec.path.match(sent["path"]):
        return "method or path"
    extra_query = set(sent["query"]) - spec.query
    if extra_query:
        return f"query parameters {sorted(extra_query)}"
    headers = sent["headers"]
    for name in AUTH_HEADERS:
        if name in spec.headers and name not in headers:
            return f"header {name} missing"
    if "amazon-advertising-api-scope" in headers and "amazon-advertising-api-scope" not in spec.headers:
        return "a Scope header where the collection sends none"
    accept = None if headers.get("accept") == "*/*" else headers.get("accept")  # */*: httpx's "anything"
    if accept != spec.headers.get("accept"):
        return f"Accept {accept!r}, the collection {spec.headers.get('accept')!r}"
    body = sent["body"]
    if body is not None:
        sent_type = headers.get("content-type", "").split(";")[0]
        if sent_type != spec.content_type:
            return f"Content-Type {sent_type!r}, the collection {spec.content_type!r}"
        known = by_media.get(spec.media() or "", set()) | spec.body_keys
        paging = LIST_PAGING if sent["path"].endswith("/list") else set()
        unknown = _key_paths(body) - known - paging
        if unknown:
            return f"body keys {sorted(unknown)}"
    return None


def check(sent: dict[str, Any], specs: list[Spec]) -> str | None:
    """None when some request of the collection matches `sent`, else why the nearest ones do not."""
    by_media = _known_keys(specs)
    reasons = []
    for spec in specs:
        why = mismatch(sent, spec, by_media)
        if why is None:
            return None
        if why != "method or path":
            reasons.append(f"{spec.name}: {why}")
    return "; ".join(reasons) or "no request of the collection has this method and path"


@pytest.fixture
def traffic(monkeypatch) -> list[dict[str, Any]]:
    """Everything the adapter does, against the fake: sync with paging, state, every write, notes."""
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    fake = AmazonAdsFake(page_size=2, report_polls=1)
    try:
        adapter = AmazonAdsAdapter(Account("amazon", PROFILE, endpoint=fake.url), sleep=lambda s: None)
        adapter.fetch(date(2026, 1, 1), date(2026, 1, 3))
        adapter.connection_notes()

        def key(level, entity_id):
            return EntityKey("amazon", PROFILE, level, entity_id)

        changes = [
            ("campaign", "101", "pause", {"status": "active"}, {"status": "paused"}),
            ("campaign", "102", "set_budget", {"daily_budget": 30.0}, {"daily_budget": 33.0}),
            ("ad_group", "201", "set_bid", {"bid": 1.0}, {"bid": 1.1}),
            ("keyword", "301", "change_bid", {"bid": 2.1}, {"bid": 1.9}),
            ("keyword", "303", "enable", {"status": "paused"}, {"status": "active"}),
            ("target", "401", "set_bid", {"bid": 0.8}, {"bid": 0.7}),
        ]
        reqs = [ActionRequest(f"a{i}", key(*c[:2]), c[2], {}, c[3], c[4]) for i, c in enumerate(changes)]
        done = adapter.execute_batch(reqs)
        for scope in ("campaign", "ad_group"):
            term = key("search_term", "201~conference camera 4k")
            negative = {"text": "conference camera 4k", "match_type": "exact", "scope": scope}
            added = adapter.execute(
                ActionRequest(
                    scope, term, "add_negative_keyword", {}, {"negative_keyword": None}, {"negative_keyword": negative}
                )
            )
            adapter.rollback(added.rollback_plan, term)
        adapter.rollback(done["a0"].rollback_plan, key("campaign", "101"))
        return [r for r in fake.requests if r["kind"] != "download"]
    finally:
        fake.close()


def test_every_request_the_adapter_sends_is_in_the_official_collection(traffic, specs):
    kinds = {(r["method"], re.sub(r"/[0-9a-f-]{36}$", "/{id}", r["path"])) for r in traffic}
    # the drive above reaches every call the adapter makes
    assert kinds >= {
        ("POST", "/auth/o2/token"),
        ("GET", "/v2/profiles"),
        ("POST", "/reporting/reports"),
        ("GET", "/reporting/reports/{id}"),
        ("POST", "/sp/campaigns/list"),
        ("POST", "/sp/adGroups/list"),
        ("POST", "/sp/keywords/list"),
        ("POST", "/sp/targets/list"),
        ("PUT", "/sp/campaigns"),
        ("PUT", "/sp/adGroups"),
        ("PUT", "/sp/keywords"),
        ("PUT", "/sp/targets"),
        ("POST", "/sp/campaignNegativeKeywords"),
        ("POST", "/sp/campaignNegativeKeywords/list"),
        ("POST", "/sp/campaignNegativeKeywords/delete"),
        ("POST", "/sp/negativeKeywords"),
        ("POST", "/sp/negativeKeywords/list"),
        ("POST", "/sp/negativeKeywords/delete"),
        ("GET", "/sp/budgetRules"),
    }
    assert any(r["path"].startswith("/sp/budgetRules/") and r["path"].endswith("/campaigns") for r in traffic)
    problems = {}
    for sent in traffic:
        why = check(sent, specs)
        if why is not None:
            problems[f"{sent['method']} {sent['path']}"] = why
    assert problems == {}
    assert {r["headers"].get("amazon-advertising-api-clientid") for r in traffic if r["kind"] == "api"} == {CLIENT_ID}


@pytest.mark.parametrize(
    "doctor, reason",
    [
        (lambda r: r["headers"].update(accept="application/json"), "Accept"),
        (lambda r: r["headers"].pop("amazon-advertising-api-scope"), "amazon-advertising-api-scope missing"),
        (lambda r: r["body"]["campaigns"][0].update(dailyBudget=5), "body keys ['campaigns[].dailyBudget']"),
        (lambda r: r.update(method="PATCH"), "no request of the collection"),
        (lambda r: r["query"].update(campaignId="1"), "query parameters"),
    ],
)
def test_the_check_refuses_what_the_collection_does_not_show(traffic, specs, doctor, reason):
    sent = json.loads(json.dumps(next(r for r in traffic if r["method"] == "PUT" and r["path"] == "/sp/campaigns")))
    assert check(sent, specs) is None
    doctor(sent)
    why = check(sent, specs)
    assert why is not None and reason in why
