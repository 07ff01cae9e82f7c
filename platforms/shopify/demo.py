"""Shopify in the demo dataset.

One store (level `account`) with daily sessions, add_to_carts, orders, revenue,
new_customers and returning_customers: the truth that platform conversions are compared
with. Its products Bot, Dot and Board (level `product`, the `product` attribute is the
handle) with their daily orders, revenue, new customers and units. Two pages (level `page`,
no metrics): the Bot landing page and the About page. Its rows are computed from what the
ads and emails really drove (platform conversions divided by their over-reporting ratio,
part of the email conversions) plus organic demand.
"""

from __future__ import annotations

from datetime import date

from engine.core.demodata import Dataset, PlatformDemo

STORE = "vibe-store.myshopify.com"


def build(ds: Dataset) -> None:
    store = ("shopify", STORE)
    shop = ds.root(store, "account", "Vibe Store (US)", entity_id=STORE, created_at=date(2021, 3, 15), truth_store=True)
    for i, (title, handle) in enumerate((("Bot", "bot"), ("Dot", "dot"), ("Board", "board")), 1):
        ds.add(shop, "product", title, entity_id=f"gid://shopify/Product/{700 + i}", product=handle)
    ds.add(shop, "page", "Bot landing page", entity_id="gid://shopify/Page/101", body=BOT_PAGE)
    ds.add(shop, "page", "About us", entity_id="gid://shopify/Page/102", body="<p>Made in Oakland.</p>")


BOT_PAGE = "<h1>Meet Bot</h1><p>The desk robot that keeps your day on track.</p>"


DEMO = PlatformDemo(order=80, build=build)
