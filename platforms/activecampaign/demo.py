"""ActiveCampaign in the demo dataset.

The account (a row every day, zeros: its sends are on the campaigns, as sync stores it),
email campaigns (one metric row, on the send date), two automations and two contact
lists. The campaigns convert nothing here: ActiveCampaign reports no revenue
(`missing: [revenue_attribution]` in its catalog), so the store's truth is unchanged.

Traps:

- `activecampaign_unsubscribe_spike`: a campaign still sending whose unsubscribe rate
  is over the 0.5% benchmark;
- `activecampaign_bouncing_campaign`: a campaign still sending to a stale list, bounce
  rate over 2%;
- `activecampaign_next_newsletter`: the draft of the next newsletter, while the last
  week's newsletters opened under 60% of the target open rate;
- `activecampaign_lapsed_list` (640 contacts) and `activecampaign_trial_list` (1,450
  contacts, over the 1,000 that need approval): lists for the lifecycle automations.
"""

from __future__ import annotations

from datetime import date, timedelta

from engine.core.demodata import Dataset, EmailPerf, PlatformDemo, days_ago

ACCOUNT = "vibe"

TRAPS = {
    "activecampaign_unsubscribe_spike": "7001",
    "activecampaign_bouncing_campaign": "7002",
    "activecampaign_next_newsletter": "7003",
    "activecampaign_lapsed_list": "21",
    "activecampaign_trial_list": "22",
}


def _email(recipients: float, open_rate: float, **rates: float) -> EmailPerf:
    return EmailPerf(recipients, open_rate, 0.012, 0.0, noise=0.02, seasonal=False, **rates)


def build(ds: Dataset) -> None:
    acct = ("activecampaign", ACCOUNT)
    # the account's daily row (zeros: its sends are on the campaigns), as sync stores it
    ds.root(
        acct, "account", "Vibe (ActiveCampaign)", entity_id=ACCOUNT, created_at=date(2025, 6, 2), email=_email(0.0, 0.0)
    )
    sends = (
        (TRAPS["activecampaign_unsubscribe_spike"], "Board Black Friday preview", 0, _email(9200.0, 0.14, unsub=0.009)),
        (TRAPS["activecampaign_bouncing_campaign"], "Teacher week offer", 1, _email(6100.0, 0.12, bounce=0.035)),
    )
    for entity_id, name, age, email in sends:
        sent = days_ago(age)
        ds.root(acct, "email_campaign", name, entity_id=entity_id, created_at=sent, email=email, stopped_age=age)
    for n, age in enumerate(range(2, 60, 7)):  # weekly newsletters, opening poorly lately
        sent = days_ago(age)
        ds.root(
            acct,
            "email_campaign",
            f"{sent:%B} newsletter {sent:%d}",
            entity_id=str(7100 + n),
            status="archived",  # completed
            created_at=sent - timedelta(days=2),
            email=_email(14_000.0, 0.13 if age < 14 else 0.27),
            stopped_age=age,
        )
    ds.root(
        acct,
        "email_campaign",
        "November newsletter",
        entity_id=TRAPS["activecampaign_next_newsletter"],
        status="paused",  # a draft: never sent
        created_at=days_ago(1),
        profile_count=14_000.0,  # its audience
    )
    for entity_id, name in (("11", "Win-back 90d"), ("12", "Trial activation")):
        ds.root(acct, "flow", name, entity_id=entity_id, created_at=date(2026, 3, 2))
    lists = (
        (TRAPS["activecampaign_lapsed_list"], "Lapsed 90 days", 640.0),
        (TRAPS["activecampaign_trial_list"], "Trial users", 1450.0),
    )
    for entity_id, name, size in lists:
        ds.root(acct, "segment", name, entity_id=entity_id, created_at=date(2026, 1, 5), profile_count=size)


# Before Klaviyo (70), not after every platform: an email row's noise is keyed by its entity's
# position, and Klaviyo's campaign count follows the window (`demo:days=30` has fewer), so
# entities after it would get other numbers for the same date in a shorter window.
DEMO = PlatformDemo(order=65, build=build, traps=TRAPS)
