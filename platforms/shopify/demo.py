"""Shopify in the demo dataset.

One store (level `account`) with daily sessions, add_to_carts, orders, revenue and
new_customers: the truth that platform conversions are compared with. Its rows are
computed from what the ads and emails really drove (platform conversions divided by
their over-reporting ratio, part of the email conversions) plus organic demand.
"""

from __future__ import annotations

from datetime import date

from engine.core.demodata import Dataset, PlatformDemo

STORE = "vibe-store.myshopify.com"


def build(ds: Dataset) -> None:
    store = ("shopify", STORE)
    ds.root(store, "account", "Vibe Store (US)", entity_id=STORE, created_at=date(2021, 3, 15), truth_store=True)


DEMO = PlatformDemo(order=80, build=build)
