"""The Rest.li 2.0 encoder (platforms/linkedin/restli.py) against the fake's own decoder."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platforms.linkedin import restli
from tests.fakes.linkedin_fake import ACCOUNT, TOKEN, VERSION, LinkedInFake, RestliError, decode, parse_query

leaves = st.text(max_size=12) | st.sampled_from(["", "''", "List(a)", "(k:v)", "a,b", "urn:li:x:1", "%20", "+ &=?#"])
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(leaves, inner, max_size=3),
    max_leaves=10,
)


@given(values)
def test_encode_then_decode_gives_the_value_back(value):
    assert decode(restli.encode(value)) == value


@settings(max_examples=100)  # each value is the round trip above; this checks names and `&` joins
@given(st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k != "fields"), values, max_size=3))
def test_a_query_string_round_trips(params):
    assert parse_query(restli.query(params)) == params


@given(st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.booleans())
def test_numbers_and_booleans_come_back_as_their_text(value):
    # Rest.li's URL encoding carries no types: the server reads them by the parameter's schema
    expected = ("true" if value else "false") if isinstance(value, bool) else str(value)
    assert decode(restli.encode(value)) == expected


def test_the_documented_shapes():
    rng = restli.date_range(date(2024, 5, 1), date(2024, 5, 7))
    assert restli.encode(rng) == "(end:(day:7,month:5,year:2024),start:(day:1,month:5,year:2024))"
    assert restli.encode(["urn:li:sponsoredAccount:507153119"]) == "List(urn%3Ali%3AsponsoredAccount%3A507153119)"
    assert restli.encode({"status": {"values": ["ACTIVE", "PAUSED"]}}) == "(status:(values:List(ACTIVE,PAUSED)))"
    assert restli.encode("") == "''" and restli.encode([]) == "List()" and restli.encode({}) == "()"
    assert restli.encode(True) == "true" and restli.encode("a b(c)") == "a%20b%28c%29"
    assert restli.query({"q": "analytics", "pageToken": None, "count": 10}) == "q=analytics&count=10"


def test_what_cannot_be_encoded_is_refused():
    with pytest.raises(TypeError):
        restli.encode(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        restli.encode(object())  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["List(a,b", "(k:v", "(k)", "List(a)b", "(k:v))", "List(urn:li:x:1)", "a(b"])
def test_the_fake_refuses_malformed_rest_li(text):
    with pytest.raises(RestliError):
        decode(text)


@pytest.fixture
def fake():
    server = LinkedInFake()
    yield server
    server.close()


def _get(fake, query: str, **headers) -> httpx.Response:
    sent = {"Authorization": f"Bearer {TOKEN}", "LinkedIn-Version": VERSION, "X-RestLi-Protocol-Version": "2.0.0"}
    sent |= {"X-RestLi-Method": "FINDER", **headers}
    return httpx.get(f"{fake.url}/rest/adAnalytics?{query}", headers={k: v for k, v in sent.items() if v})


ANALYTICS = {
    "q": "analytics",
    "pivot": "CAMPAIGN",
    "timeGranularity": "DAILY",
    "dateRange": restli.date_range(date(2026, 1, 1), date(2026, 1, 2)),
    "accounts": [f"urn:li:sponsoredAccount:{ACCOUNT}"],
    "fields": "dateRange,pivotValues,impressions",
}


def test_the_fake_answers_a_rest_li_query_and_refuses_an_escaped_one(fake):
    good = _get(fake, restli.query(ANALYTICS))
    assert good.status_code == 200 and len(good.json()["elements"]) == 2 * 4  # 4 campaigns with activity, 2 days
    # what httpx params= sends: the structure percent-encoded, so lists arrive as strings
    escaped = str(httpx.QueryParams({k: restli.encode(v) for k, v in ANALYTICS.items()}))
    assert "List%28" in escaped
    refused = _get(fake, escaped)
    assert refused.status_code == 400 and "Invalid value for param" in refused.json()["message"]


def test_the_fake_checks_the_version_and_protocol_headers(fake):
    missing = _get(fake, restli.query(ANALYTICS), **{"LinkedIn-Version": ""})
    assert missing.status_code == 400 and missing.json()["code"] == "VERSION_MISSING"
    sunset = _get(fake, restli.query(ANALYTICS), **{"LinkedIn-Version": "202401"})
    assert sunset.status_code == 426 and sunset.json()["code"] == "NONEXISTENT_VERSION"
    protocol = _get(fake, restli.query(ANALYTICS), **{"X-RestLi-Protocol-Version": ""})
    assert protocol.status_code == 400
