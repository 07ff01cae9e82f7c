"""The product of live ad entities: the longest known product the name starts with, else the parent's.

Every test runs the step on a real metrics store (DuckDB), with entities as sync stores them.
"""

from __future__ import annotations

import pytest

from engine.core.catalog import load_catalog
from engine.data.products import known_products, tag_products
from engine.data.rows import insert_rows
from engine.data.store import Store
from engine.data.sync import LIVE_SCHEMA, ensure_live_tables

CATALOG = load_catalog()
PRODUCTS = ["bot", "dot", "board"]


def entity(entity_id, name, level="campaign", parent=None, product=None, platform="meta", account="act_1"):
    return {
        "platform": platform,
        "account_id": account,
        "level": level,
        "entity_id": entity_id,
        "parent_id": parent,
        "name": name,
        "status": "active",
        "product": product,
    }


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "state") as s:
        ensure_live_tables(s.connect(), CATALOG)
        yield s


def put(store, *rows):
    columns = CATALOG.entity_columns()
    insert_rows(store.connect(), f'"{LIVE_SCHEMA}".entities', columns, ([r.get(c) for c, _ in columns] for r in rows))


def products(store):
    rows = store.connect().execute(f'SELECT platform, entity_id, product FROM "{LIVE_SCHEMA}".entities').fetchall()
    return {(p, e): product for p, e, product in rows}


def shopify_products(*handles):
    return [
        entity(f"gid://shopify/Product/{i}", h.title(), "product", None, h, "shopify", "shop.myshopify.com")
        for i, h in enumerate(handles, 1)
    ]


@pytest.mark.parametrize(
    "name, product",
    [
        ("Bot-Prospecting-LAL-2026Q1", "bot"),
        ("bot", "bot"),
        ("BOT | Search", "bot"),
        ("Dot_Retargeting", "dot"),
        ("board: spring sale", "board"),
        ("  Board Prospecting", "board"),
        ("Dotty-x", None),  # a token that starts with a product is another word
        ("Bots-Prospecting", None),
        ("Prospecting-Bot", None),  # only the start of the name names the product
        ("Retargeting", None),
        ("", None),
        (None, None),
    ],
)
def test_the_first_word_of_the_name_names_a_one_word_product(store, name, product):
    put(store, entity("c1", name))
    tag_products(store.connect(), LIVE_SCHEMA, CATALOG, PRODUCTS)
    assert products(store)[("meta", "c1")] == product


HYPHENATED = ["bot", "bot-mini", "smart-speaker", "dot"]


@pytest.mark.parametrize(
    "name, product",
    [
        ("Bot-Mini-Prospecting", "bot-mini"),  # the longest product wins
        ("bot_mini | LAL", "bot-mini"),
        ("BOT MINI", "bot-mini"),
        ("Bot-Prospecting", "bot"),
        ("Bot-Minis-Prospecting", "bot"),  # "minis" is another word, bot is still the product
        ("BOT | Search", "bot"),
        ("Smart-Speaker-LAL", "smart-speaker"),
        ("smart speaker - LAL", "smart-speaker"),
        ("Smart\tSpeaker", "smart-speaker"),
        (":: Smart--Speaker", "smart-speaker"),
        ("Smart-Speakers", None),
        ("Smart-Prospecting", None),  # part of a product is none
        ("Dotty-x", None),
        ("Speaker-Smart", None),
    ],
)
def test_a_hyphenated_product_matches_the_names_leading_words(store, name, product):
    put(store, entity("c1", name))
    tag_products(store.connect(), LIVE_SCHEMA, CATALOG, HYPHENATED)
    assert products(store)[("meta", "c1")] == product


def test_several_entities_get_their_longest_product_and_children_inherit_it(store):
    put(
        store,
        entity("c1", "Bot-Mini-Prospecting"),
        entity("s1", "Lookalike", "ad_group", "c1"),
        entity("c2", "Bot-Prospecting"),
        entity("s2", "Smart Speaker | Retargeting", "ad_group", "c2"),  # its own name wins
        entity("a2", "Ad", "ad", "s2"),
        entity("c3", "Bot-Mini-Prospecting", account="act_2"),  # the same name in another account
    )
    assert tag_products(store.connect(), LIVE_SCHEMA, CATALOG, HYPHENATED) == 6
    got = products(store)
    assert [got[("meta", e)] for e in ("c1", "s1", "c2", "s2", "a2")] == [
        "bot-mini",
        "bot-mini",
        "bot",
        "smart-speaker",
        "smart-speaker",
    ]
    rows = store.connect().execute(f"SELECT product FROM \"{LIVE_SCHEMA}\".entities WHERE account_id = 'act_2'")
    assert rows.fetchall() == [("bot-mini",)]


def test_hyphenated_shopify_handles_are_the_known_products_as_they_are(store):
    put(
        store,
        entity("c1", "Bot-Mini-Prospecting"),
        entity("c2", "Smart-Speaker-LAL"),
        entity("c3", "Bot-Prospecting"),
        *shopify_products("bot", "bot-mini", "Smart-Speaker"),
    )
    con = store.connect()
    assert known_products(con, LIVE_SCHEMA, CATALOG, None) == ["bot", "bot-mini", "smart-speaker"]
    tag_products(con, LIVE_SCHEMA, CATALOG, None)
    got = products(store)
    assert (got[("meta", "c1")], got[("meta", "c2")], got[("meta", "c3")]) == ("bot-mini", "smart-speaker", "bot")


def test_children_inherit_their_parents_product_over_three_levels(store):
    put(
        store,
        entity("c1", "Bot-Prospecting-LAL-2026Q1"),
        entity("s1", "Lookalike 1%", "ad_group", "c1"),
        entity("a1", "Ad 1", "ad", "s1"),
        entity("k1", "robot vacuum", "keyword", "s1"),
        entity("s2", "Dot-Retargeting", "ad_group", "c1"),  # its own name wins over the parent's
        entity("a2", "Ad 2", "ad", "s2"),
        entity("c2", "Retargeting"),
        entity("s3", "Cart abandoners", "ad_group", "c2"),
        entity("s4", "Orphan", "ad_group", "c1", account="act_2"),  # c1 of another account is not its parent
    )
    assert tag_products(store.connect(), LIVE_SCHEMA, CATALOG, PRODUCTS) == 6
    got = products(store)
    assert [got[("meta", e)] for e in ("c1", "s1", "a1", "k1")] == ["bot"] * 4
    assert [got[("meta", e)] for e in ("s2", "a2")] == ["dot"] * 2
    assert got[("meta", "c2")] is None and got[("meta", "s3")] is None and got[("meta", "s4")] is None


def test_the_configured_list_else_the_shopify_product_handles_else_nothing(store):
    put(store, entity("c1", "Bot-Prospecting"), entity("c2", "Board-Prospecting"), *shopify_products("bot", "dot"))
    con = store.connect()
    assert known_products(con, LIVE_SCHEMA, CATALOG, None) == ["bot", "dot"]
    assert known_products(con, LIVE_SCHEMA, CATALOG, ["board"]) == ["board"]

    tag_products(con, LIVE_SCHEMA, CATALOG, ["board"])  # the list replaces the handles
    assert products(store)[("meta", "c1")] is None and products(store)[("meta", "c2")] == "board"
    con.execute(f"UPDATE \"{LIVE_SCHEMA}\".entities SET product = NULL WHERE platform = 'meta'")  # as a new sync

    tag_products(con, LIVE_SCHEMA, CATALOG, None)
    assert products(store)[("meta", "c1")] == "bot" and products(store)[("meta", "c2")] is None


def test_without_a_list_or_shopify_products_nothing_is_tagged(store):
    put(store, entity("c1", "Bot-Prospecting"), entity("s1", "Lookalike", "ad_group", "c1"))
    assert tag_products(store.connect(), LIVE_SCHEMA, CATALOG, None) == 0
    assert set(products(store).values()) == {None}


def test_a_product_the_adapter_set_is_kept_and_inherited(store):
    put(
        store,
        entity("c1", "Bot-Prospecting", product="dot"),
        entity("s1", "Lookalike", "ad_group", "c1"),
        entity("s2", "Board-Lookalike", "ad_group", "c1", product="other"),
    )
    tag_products(store.connect(), LIVE_SCHEMA, CATALOG, PRODUCTS)
    got = products(store)
    assert (got[("meta", "c1")], got[("meta", "s1")], got[("meta", "s2")]) == ("dot", "dot", "other")


def test_only_ad_platforms_are_tagged(store):
    put(
        store,
        entity("f1", "Bot-Welcome", "flow", platform="klaviyo", account="K1"),
        entity("c1", "Bot-Search", platform="google", account="123"),
        *shopify_products("bot"),
    )
    tag_products(store.connect(), LIVE_SCHEMA, CATALOG, None)
    got = products(store)
    assert got[("klaviyo", "f1")] is None and got[("google", "c1")] == "bot"


def test_a_parent_id_naming_entities_of_two_products_gives_none(store):
    # ids are unique per level only: a campaign and an ad group may share one
    put(
        store,
        entity("1", "Bot-Prospecting"),
        entity("1", "Dot-Lookalike", "ad_group", "9"),
        entity("2", "Ad", "ad", "1"),
    )
    tag_products(store.connect(), LIVE_SCHEMA, CATALOG, PRODUCTS)
    assert products(store)[("meta", "2")] is None


def test_running_again_changes_nothing(store):
    put(store, entity("c1", "Bot-Prospecting"), entity("s1", "Lookalike", "ad_group", "c1"))
    con = store.connect()
    assert tag_products(con, LIVE_SCHEMA, CATALOG, PRODUCTS) == 2
    before = products(store)
    assert tag_products(con, LIVE_SCHEMA, CATALOG, PRODUCTS) == 0
    assert products(store) == before
