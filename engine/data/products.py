"""The product of live ad entities, from the naming convention and the entity tree.

Ad platforms have no notion of the shop's product lines, so their adapters leave `product`
empty, and per-product thresholds would never apply to live data. After every sync this step
fills it in, for every stored entity of an ad platform whose product is still empty:

1. from the entity's own name: the longest known product the name starts with, a whole word or
   words of it. Both are compared normalized: lowercased, leading separators dropped, and every
   run of separators (`-`, `_`, `|`, `:`, whitespace) made one `-`; a product matches when the
   normalized name equals it or starts with it and a `-`. The naming convention
   `[Product]-[Objective]-[Targeting]-[Date]` ("Bot-Prospecting-LAL-2026Q1") gives `bot`;
   "BOT | Search" and "bot" do too, "Dotty-x" does not give `dot`; with `bot` and `bot-mini`
   known, "Bot-Mini-Prospecting" gives `bot-mini` (Shopify handles are hyphenated), and
   "smart speaker - LAL" gives `smart-speaker`;
2. else from its parent (same platform and account, the parent's `entity_id` is the entity's
   `parent_id`), transitively: campaign -> ad group -> ad or keyword. A parent id that names
   entities of different products (ids are unique per level only) gives none.

Known products are `products:` of rulerun.yaml when it is given, else the products of the truth
source's (Shopify's) product entities already in the store (their handles as they are,
lowercased: bot, bot-mini, smart-speaker), else there are none and nothing is tagged. An entity
gets the known product itself, as listed, whatever the spelling of its name. A product an
adapter set itself is never replaced.

Sync replaces an account's entities each time (re-read with an empty product), so the step runs
after every sync over all the stored entities; running it again changes nothing. It is set-based
SQL, one UPDATE per pass and one pass per level of the tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.core.catalog import Catalog
from engine.language.sql import quote_ident


def normalized(column: str) -> str:
    """SQL for `column` normalized for matching: lowercase, leading separators dropped, every run of
    separators (- _ | : whitespace) one `-` ("  Smart speaker | LAL" gives smart-speaker-lal)."""
    return rf"regexp_replace(regexp_replace(lower({column}), '^[-_|:\s]+', ''), '[-_|:\s]+', '-', 'g')"


# Each distinct normalized name of an untagged ad entity, with the longest known product it starts
# with (ties, two products normalized alike, go to the greatest name, so the result is stable).
NAME_PRODUCTS = f"""
    WITH known AS (
        SELECT product, {normalized("product")} AS key FROM unnest($products::VARCHAR[]) AS t(product)
    ), names AS (
        SELECT DISTINCT {normalized("name")} AS name FROM {{entities}}
        WHERE product IS NULL AND list_contains($ads::VARCHAR[], platform)
    )
    SELECT names.name, arg_max(known.product, (length(known.key), known.product)) AS product
    FROM names JOIN known ON known.key <> '' AND (names.name = known.key OR starts_with(names.name, known.key || '-'))
    GROUP BY names.name"""
MAX_DEPTH = 16  # levels of inheritance; ad trees have 3 or 4, so this only bounds a corrupt tree


def known_products(con: Any, schema: str, catalog: Catalog, configured: Sequence[str] | None) -> list[str]:
    """The products names are matched against: the configured list, else the truth source's product handles."""
    if configured is not None:
        return sorted({p.lower() for p in configured})
    truth = [s.name for s in catalog.sources.values() if s.truth]
    if not truth:
        return []
    rows = con.execute(
        f"SELECT DISTINCT lower(product) FROM {quote_ident(schema)}.entities "
        "WHERE list_contains(?::VARCHAR[], platform) AND level = 'product' AND coalesce(product, '') <> ''",
        [truth],
    ).fetchall()
    return sorted(r[0] for r in rows)


def tag_products(con: Any, schema: str, catalog: Catalog, configured: Sequence[str] | None = None) -> int:
    """Fill in the empty `product` of the ad platforms' entities (see the module docstring).

    Runs in its own transaction, all or nothing; returns how many entities got a product.
    """
    ads = sorted(s.name for s in catalog.sources.values() if s.type == "ad_platform")
    entities = f"{quote_ident(schema)}.entities"
    con.execute("BEGIN TRANSACTION")
    try:
        products = known_products(con, schema, catalog, configured)
        if not products or not ads:
            con.execute("COMMIT")
            return 0
        tagged = _count(
            con.execute(
                f"UPDATE {entities} AS e SET product = m.product FROM ({NAME_PRODUCTS.format(entities=entities)}) AS m "
                f"WHERE e.product IS NULL AND list_contains($ads::VARCHAR[], e.platform) "
                f"AND {normalized('e.name')} = m.name",
                {"ads": ads, "products": products},
            )
        )
        for _ in range(MAX_DEPTH):
            inherited = _count(
                con.execute(
                    f"""
                    UPDATE {entities} AS c SET product = p.product
                    FROM (SELECT platform, account_id, entity_id, any_value(product) AS product
                          FROM {entities} WHERE product IS NOT NULL
                          GROUP BY platform, account_id, entity_id
                          HAVING count(DISTINCT product) = 1) AS p
                    WHERE c.product IS NULL AND list_contains($ads::VARCHAR[], c.platform)
                      AND p.platform = c.platform AND p.account_id = c.account_id AND p.entity_id = c.parent_id""",
                    {"ads": ads},
                )
            )
            tagged += inherited
            if not inherited:
                break
        con.execute("COMMIT")
        return tagged
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _count(cursor: Any) -> int:
    """The number of rows an UPDATE changed."""
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def campaign_products(con: Any, schema: str, catalog: Catalog) -> dict[str | None, int]:
    """How many live ad campaigns (not removed) promote each product, None for those of none: what
    sync reports, so that a campaign off the naming convention shows."""
    ads = sorted(s.name for s in catalog.sources.values() if s.type == "ad_platform")
    rows = con.execute(
        f"SELECT product, count(*) FROM {quote_ident(schema)}.entities WHERE list_contains(?::VARCHAR[], platform) "
        "AND level = 'campaign' AND coalesce(status, '') NOT IN ('removed', 'archived') GROUP BY ALL",
        [ads],
    ).fetchall()
    return {product: int(n) for product, n in rows}
