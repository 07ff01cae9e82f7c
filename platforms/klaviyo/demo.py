"""Klaviyo in the demo dataset.

Flows (daily rows) and email campaigns (one row, on the send date): newsletters go out
on Tuesdays and Thursdays within the data window.

Traps:

- `klaviyo_spam_complaints_campaign`: an email campaign with spam complaint and
  unsubscribe rates over the Klaviyo benchmarks.

The flows are live, except a second sunset flow left on manual (the Welcome Series'
completion, 38%, is under the benchmark); the sunset flow's
unsubscribes are over the benchmark. Segments carry their sizes only: the unengaged one
(3,400 profiles) is over the 1,000 above which a suppression needs a human.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from engine.core.demodata import Dataset, EmailPerf, PlatformDemo, days_ago

ACCOUNT = "XkP9Lm"

TRAPS = {"klaviyo_spam_complaints_campaign": "01JBEM20261029"}

# Klaviyo flows: (name, daily recipients, open rate, click rate, conversion per click, completion).
_FLOWS = (
    ("Welcome Series", 420.0, 0.52, 0.061, 0.045, 0.38),
    ("Abandoned Cart", 260.0, 0.48, 0.083, 0.11, 0.71),
    ("Browse Abandonment", 520.0, 0.41, 0.047, 0.035, 0.82),
    ("Post-Purchase Onboarding", 45.0, 0.63, 0.092, 0.02, 0.9),
    ("Winback 90d", 310.0, 0.27, 0.018, 0.03, 0.64),
    ("Sunset Unengaged", 150.0, 0.12, 0.006, 0.01, 0.55),
)

# Newsletter topics, picked by send date: (product, subject).
_TOPICS = (
    ("bot", "Meetings everyone can hear"),
    ("dot", "A second screen that fits in your bag"),
    ("board", "Your classroom, interactive"),
    ("bot", "Customer story: hybrid teams"),
    ("dot", "Five desk setups we love"),
    ("board", "Grants that cover a Vibe Board"),
    (None, "What's new at Vibe"),
)


def build(ds: Dataset) -> None:
    acct = ("klaviyo", ACCOUNT)
    for name, recipients, open_rate, click, conv, completion in _FLOWS:
        email = EmailPerf(recipients, open_rate, click, conv, unsub=0.012 if name.startswith("Sunset") else 0.002)
        flow_id = ds.new_id("klaviyo", "flow")
        ds.root(
            acct,
            "flow",
            name,
            entity_id=flow_id,
            created_at=date(2025, 11, 3),
            email=email,
            flow_status="live",
            completion_rate=completion,
        )
    # A second sunset flow, built and left on manual: it sends nothing until someone sets it live.
    ds.root(acct, "flow", "Sunset Re-engagement v2", created_at=date(2026, 9, 1), status="paused", flow_status="manual")
    # Segments: their sizes (no daily numbers). The unengaged one is what list hygiene suppresses.
    for name, size in (("Unengaged 120d (sunset done)", 3400.0), ("VIP 3+ orders", 820.0), ("Engaged 90d", 31500.0)):
        ds.root(acct, "segment", name, created_at=date(2025, 10, 1), profile_count=size, labels=("segment",))
    for age in range(ds.days):
        sent = days_ago(age)
        if sent.isoweekday() not in (2, 4):  # newsletters go out on Tuesdays and Thursdays
            continue
        product, subject = _TOPICS[sent.toordinal() % len(_TOPICS)]
        email = EmailPerf(52_000.0 - 30.0 * age, 0.38, 0.021, 0.012, noise=0.01, seasonal=False)
        entity_id = f"01JBEM{sent:%Y%m%d}"
        if entity_id == TRAPS["klaviyo_spam_complaints_campaign"]:
            # Sent to the whole list, unengaged profiles included: complaints spike.
            product, subject = "board", "Early access: Board Black Friday"
            email = replace(email, recipients=88_000.0, open=0.21, unsub=0.009, spam=0.0018, bounce=0.014)
        name, created = f"{sent:%Y-%m-%d} {subject}", sent - timedelta(days=2)
        ds.root(
            acct,
            "email_campaign",
            name,
            entity_id=entity_id,
            created_at=created,
            product=product,
            email=email,
            labels=("newsletter",),
            stopped_age=age,
        )


DEMO = PlatformDemo(order=70, build=build, ids={"flow": "RcT{:05d}", "segment": "SgM{:05d}"}, traps=TRAPS)
