"""Shopify live adapter: one shop through the GraphQL Admin API at a pinned version.

The ShopifyAPI SDK (`shopify.Session`, `shopify.ApiVersion`) normalizes the shop domain and
checks the version, and gives the shop's API address. GraphQL goes through the template's
HTTP client (platforms/http.py) instead of the SDK's `GraphQL().execute`: that helper returns
the raw body as text, prints error bodies to stdout and raises urllib's HTTPError, so it can
neither be retried by the one retry policy nor keep the token out of what it prints.

Reads (`fetch`): the shop (its `ianaTimezone` decides which day an order belongs to; its
currency must be the one rulerun.yaml says), its code discounts, products and pages, then the orders
created in the range, leaving test orders out: counted first (`ordersCount`); up to
`BULK_OVER` in cursor pages of `ORDERS_PAGE` with up to `LINE_ITEMS` line items each (an
order with more is completed by its own paged query); more through one bulk operation
(`bulkOperationRunQuery`, polled, its JSONL file downloaded without the token), which the
cost bucket does not meter. Per day, in the shop's time:

- account (the store): `orders`, `revenue` (gross: order totals before discounts),
  `net_revenue` (after discounts and refunds; a refund counts on its order's day),
  `new_customers` (orders whose `customerJourneySummary.customerOrderIndex` is 1: the
  customer's first order at the time, unlike `numberOfOrders`, which is today's lifetime
  count), `returning_customers` (index above 1) and `units_sold`. A guest checkout (no customer) is an
  order and neither; so is an order whose index Shopify has not attributed yet;
- product: `orders` holding it, `revenue` (its line items after discounts), `units_sold`,
  `new_customers` (a first order counts once for each product in it: per-product truth divides
  each product's ad spend by them);
- discount: `orders` using the code and their `revenue`.

Entities: the store, its products (the `product` attribute is the lowercase handle: bot, dot,
board select per-product thresholds), its code discounts and its pages (with their body). The
whole product list is read on every fetch (`products`, cursor pages; its status through the
catalog's `statuses:`, DRAFT paused, ARCHIVED removed), so a product that sold nothing in the
range keeps its entity when sync replaces the account's entities; a product sold in the range
but no longer listed (deleted since) is an entity from its line items.

Writes (each always needs approval, engine/rules/escalation.py): `create_discount`
(`discountCodeBasicCreate`; a code that exists but was deactivated is activated again) and
its undo `deactivate_discount` (`discountCodeDeactivate`); `update_page` (`pageUpdate`), undone
by writing back the previous body the rollback plan keeps. `userErrors` are PermanentErrors
naming the field.

Throttling (cost-based leaky bucket, PLATFORM-FACTS 6.5): every answer reports
`extensions.cost` (requestedQueryCost, throttleStatus: maximumAvailable, currentlyAvailable,
restoreRate). Before a query the adapter sleeps exactly what the bucket still lacks for the
cost that operation last requested, `(requested - available now) / restoreRate`; a THROTTLED
answer (HTTP 200 with `errors[].extensions.code == "THROTTLED"`, or 429) is a RateLimited
error whose wait is that same computation, retried by the HTTP client.

`Account.endpoint` replaces `https://{shop}` (a test server; `{shop}` in it is the domain).
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.core.execution import AdapterError, AuthError, EntityKey, PermanentError, RateLimited, TransientError
from platforms.adapter import Account, Fetched
from platforms.template import Change, LiveAdapter, Written

PLATFORM = "shopify"
DEFAULT_VERSION = "2026-10"
TOKEN_VARIABLE = "SHOPIFY_ACCESS_TOKEN"

SHOP_QUERY = "query Shop { shop { name myshopifyDomain ianaTimezone currencyCode } }"
_MONEY = "shopMoney { amount currencyCode }"
ORDERS_QUERY = """query Orders($first: Int!, $after: String, $q: String) {
  orders(first: $first, after: $after, query: $q, sortKey: CREATED_AT) {
    edges { node {
      id createdAt test discountCodes
      totalPriceSet { %(m)s } totalDiscountsSet { %(m)s } totalRefundedSet { %(m)s }
      customer { id }
      customerJourneySummary { customerOrderIndex }
      lineItems(first: %(lines)d) {
        nodes { quantity product { id title handle } discountedTotalSet { %(m)s } }
        pageInfo { hasNextPage endCursor }
      }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""
LINE_ITEMS_QUERY = """query OrderLineItems($id: ID!, $first: Int!, $after: String) {
  order(id: $id) { id lineItems(first: $first, after: $after) {
    nodes { quantity product { id title handle } discountedTotalSet { MONEY } }
    pageInfo { hasNextPage endCursor } } }
}""".replace("MONEY", _MONEY)
COUNT_QUERY = "query OrdersCount($q: String) { ordersCount(query: $q, limit: null) { count precision } }"
# The bulk form of the orders read: no `first`, nested connections come back as lines of their own
BULK_ORDERS = """{ orders(query: "QUERY", sortKey: CREATED_AT) { edges { node {
  id createdAt test discountCodes
  totalPriceSet { MONEY } totalDiscountsSet { MONEY } totalRefundedSet { MONEY }
  customer { id } customerJourneySummary { customerOrderIndex }
  lineItems { edges { node { quantity product { id title handle } discountedTotalSet { MONEY } } } }
} } } }""".replace("MONEY", _MONEY)
BULK_RUN = """mutation BulkOrders($query: String!) {
  bulkOperationRunQuery(query: $query) { bulkOperation { id status } userErrors { field message } }
}"""
BULK_STATUS = """query BulkStatus($id: ID!) {
  node(id: $id) { ... on BulkOperation { id status errorCode objectCount url } }
}"""
_CODE_FIELDS = "title status startsAt endsAt usageLimit asyncUsageCount codes(first: 1) { nodes { code } }"
# every kind of code discount is listed (its code, use and revenue); the value only for basic ones
DISCOUNTS_QUERY = """query Discounts($first: Int!, $after: String, $q: String) {
  codeDiscountNodes(first: $first, after: $after, query: $q) {
    nodes { id codeDiscount { __typename
      ... on DiscountCodeBasic { FIELDS appliesOncePerCustomer
        customerGets { value { __typename
          ... on DiscountPercentage { percentage }
          ... on DiscountAmount { amount { amount currencyCode } } } } }
      ... on DiscountCodeBxgy { FIELDS }
      ... on DiscountCodeFreeShipping { FIELDS }
      ... on DiscountCodeApp { FIELDS } } }
    pageInfo { hasNextPage endCursor }
  }
}""".replace("FIELDS", _CODE_FIELDS)
PAGES_QUERY = """query Pages($first: Int!, $after: String) {
  pages(first: $first, after: $after) { nodes { id title handle body } pageInfo { hasNextPage endCursor } }
}"""
# the shop's whole product list: every product is an entity, sold in the range or not
PRODUCTS_QUERY = """query Products($first: Int!, $after: String) {
  products(first: $first, after: $after) { nodes { id title handle status } pageInfo { hasNextPage endCursor } }
}"""
PAGE_QUERY = "query Page($id: ID!) { page(id: $id) { id title handle body } }"
DISCOUNT_CREATE = """mutation DiscountCreate($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id } userErrors { field code message } }
}"""
DISCOUNT_ACTIVATE = """mutation DiscountActivate($id: ID!) {
  discountCodeActivate(id: $id) { codeDiscountNode { id } userErrors { field code message } }
}"""
DISCOUNT_DEACTIVATE = """mutation DiscountDeactivate($id: ID!) {
  discountCodeDeactivate(id: $id) { codeDiscountNode { id } userErrors { field code message } }
}"""
PAGE_UPDATE = """mutation PageUpdate($id: ID!, $page: PageUpdateInput!) {
  pageUpdate(id: $id, page: $page) { page { id body } userErrors { field code message } }
}"""


class ShopifyAdapter(LiveAdapter):
    """One Shopify store over the GraphQL Admin API; see the module docstring."""

    ORDERS_PAGE = 35  # orders a page: with LINE_ITEMS, a requested cost under the 1,000 points one query may ask
    LINE_ITEMS = 5  # line items read with each order (more: the order's own paged query)
    LIST_PAGE = 100  # discounts and pages a call
    PRODUCTS_PAGE = 250  # products a call (the most a connection gives)
    BULK_OVER = 2000  # more orders than this in the range: one bulk operation instead of pages

    # class attributes so that tests and benchmarks can make every adapter of a run wait on their clock
    sleep: Callable[[float], None] = staticmethod(time.sleep)
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(
        self, account: Account, catalog: Any = None, *, poll_interval: float = 1.0, bulk_timeout: float = 3600.0
    ) -> None:
        super().__init__(account, catalog)
        self.poll_interval = poll_interval
        self.bulk_timeout = bulk_timeout
        self.calls = 0
        self.version = account.api_version or DEFAULT_VERSION
        self._client: Any = None
        self._lock = threading.Lock()
        self._bucket: tuple[float, float, float, float] | None = None  # available, restore, maximum, at
        self._requested: dict[str, float] = {}  # operation -> the cost it last requested
        self.points = 0.0  # actual cost of every answered query
        self.waited = 0.0  # seconds slept for the bucket
        self._shop: dict[str, Any] | None = None

    # ------------------------------------------------------------------ transport

    def _url(self) -> str:
        import shopify  # the SDK: shop domain and API version

        try:
            version = shopify.ApiVersion.coerce_to_version(self.version)
        except shopify.VersionNotFoundError:
            raise self.error(
                PermanentError, f"api_version {self.version!r} is not a Shopify API version (YYYY-MM, e.g. 2026-10)"
            ) from None
        session = shopify.Session(self.account.account_id, version.name, "-")
        if self.account.endpoint:
            base = self.account.endpoint.replace("{shop}", session.url).rstrip("/")
            return f"{base}/admin/api/{version.name}/"
        return f"{session.site}/"

    def _http(self) -> Any:
        if self._client is None:
            self.check_credentials()
            url = self._url()
            self._client = self.http_client(
                url,
                headers={"X-Shopify-Access-Token": os.environ[TOKEN_VARIABLE]},
                timeout=60,
                wait_from=self._wait_from,
                error_from=self._error_from,
            )
        return self._client

    def _gql(self, operation: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """One GraphQL call (after the bucket has what it costs); its `data`."""
        self._pace(operation)
        with self._lock:
            self.calls += 1
        try:
            body = self._http().json("POST", "graphql.json", json={"query": query, "variables": variables or {}})
        except AuthError as exc:
            raise self.error(
                AuthError,
                f"the access token was refused ({exc.message}): set a valid {TOKEN_VARIABLE} for this shop",
                details=exc.details,
            ) from None
        except PermanentError as exc:
            if (exc.details or {}).get("status") == 404:
                raise self.error(
                    PermanentError,
                    f"unknown shop {self.account.account_id} (HTTP 404): check the shop domain in rulerun.yaml",
                ) from None
            raise
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise self.error(PermanentError, f"{operation}: malformed answer (no data)")
        self._note_cost(operation, body)
        return body["data"]

    def _note_cost(self, operation: str, body: Any) -> float | None:
        """Remember the bucket a response reports; the seconds the same query would wait now."""
        cost = ((body or {}).get("extensions") or {}).get("cost") if isinstance(body, dict) else None
        if not isinstance(cost, dict):
            return None
        status = cost.get("throttleStatus") or {}
        try:
            available = float(status["currentlyAvailable"])
            restore = float(status["restoreRate"])
            maximum = float(status["maximumAvailable"])
            requested = float(cost.get("requestedQueryCost") or 0)
        except (KeyError, TypeError, ValueError):
            return None
        with self._lock:
            self._bucket = (available, restore, maximum, self.clock())
            self._requested[operation] = requested
            if cost.get("actualQueryCost") is not None:
                self.points += float(cost["actualQueryCost"])
        return _seconds(requested - available, restore) if restore > 0 else None

    def _pace(self, operation: str) -> None:
        """Sleep what the bucket lacks for the cost this operation last requested."""
        with self._lock:
            if self._bucket is None or operation not in self._requested:
                return
            available, restore, maximum, at = self._bucket
            now = self.clock()
            have = min(maximum, available + (now - at) * restore)
            need = self._requested[operation]
            wait = _seconds(need - have, restore) if restore > 0 and need > have else 0.0
            # the bucket as it will be after the wait (a recorded sleep passes no time)
            self._bucket = (have + wait * restore, restore, maximum, now)
        if wait > 0:
            self.waited += wait
            self.pause(wait, f"the cost bucket holds {have:.0f} of the {need:.0f} points {operation} needs")

    def _operation(self, response: Any) -> str:
        try:
            text = response.request.content.decode()
        except Exception:  # a request without a readable body names no operation
            return ""
        for word in (
            "OrdersCount",
            "Orders",
            "OrderLineItems",
            "Discounts",
            "Products",
            "Pages",
            "Page",
            "Shop",
            "BulkStatus",
        ):
            if f"query {word}(" in text or f"query {word} " in text:
                return word
        return ""

    def _throttled(self, response: Any) -> float | None:
        try:
            body = response.json()
        except ValueError:
            return None
        errors = body.get("errors") if isinstance(body, dict) else None
        if not isinstance(errors, list):
            return None
        if not any(((e.get("extensions") or {}).get("code") == "THROTTLED") for e in errors if isinstance(e, dict)):
            return None
        wait = self._note_cost(self._operation(response), body)
        return wait if wait is not None else 1.0

    def _wait_from(self, response: Any) -> float | None:
        """On a 429: the bucket's wait from the body, else Retry-After. Successes pace in `_pace`."""
        if response.status_code != 429:
            return None
        from platforms.http import parse_retry_after

        wait = self._throttled(response)
        return wait if wait is not None else parse_retry_after(response.headers.get("Retry-After"))

    def _error_from(self, response: Any) -> AdapterError | None:
        """A 200 whose body says THROTTLED (retried after the bucket's wait) or holds other errors."""
        wait = self._throttled(response)
        if wait is not None:
            return RateLimited(f"throttled: the query waits {wait:.1f} s for the cost bucket", retry_after=wait)
        try:
            body = response.json()
        except ValueError:
            return PermanentError("the response is not JSON")
        errors = body.get("errors") if isinstance(body, dict) else None
        if not errors:
            return None
        listed: list[Any] = errors if isinstance(errors, list) else [{"message": str(errors)}]
        text = "; ".join(str(e.get("message") if isinstance(e, dict) else e)[:200] for e in listed[:3])
        codes = {(e.get("extensions") or {}).get("code") for e in listed if isinstance(e, dict)}
        if "ACCESS_DENIED" in codes:
            return AuthError(f"access denied: {text} (the token lacks a scope)")
        return PermanentError(f"GraphQL errors: {text}")

    def _paged(self, operation: str, query: str, root: str, variables: dict[str, Any]) -> Iterator[Any]:
        """Every node of a connection, page by page (cursor paging; a failed page is retried alone)."""
        after = None
        while True:
            data = self._gql(operation, query, {**variables, "after": after})
            conn = data.get(root)
            if not isinstance(conn, dict) or not isinstance(conn.get("pageInfo"), dict):
                raise self.error(PermanentError, f"{operation}: malformed answer (no {root} page)")
            nodes = conn.get("nodes")
            if nodes is None:
                nodes = [e.get("node") for e in conn.get("edges") or [] if isinstance(e, dict)]
            yield from nodes
            page = conn["pageInfo"]
            if not page.get("hasNextPage"):
                return
            after = page.get("endCursor")
            if not after:
                raise self.error(PermanentError, f"{operation}: malformed answer (a next page without a cursor)")

    # ------------------------------------------------------------------ reads

    def shop(self) -> dict[str, Any]:
        if self._shop is None:
            info = self._gql("Shop", SHOP_QUERY).get("shop")
            if not isinstance(info, dict):
                raise self.error(PermanentError, "malformed shop answer")
            currency = info.get("currencyCode")
            if currency and str(currency).upper() != self.account.currency.upper():
                raise self.error(
                    PermanentError,
                    f"shop {self.account.account_id} is in {currency} but rulerun.yaml says {self.account.currency}: "
                    f"set `currency: {currency}` for this account",
                )
            self._shop = info
        return self._shop

    def probe(self) -> str:
        info = self.shop()
        return f"{info.get('name') or self.account.account_id} ({info.get('ianaTimezone')}, {info.get('currencyCode')})"

    def notes(self) -> list[str]:
        tz = self.shop().get("ianaTimezone")
        if tz and tz != self.account.timezone:
            return [
                f"days are counted in the shop's timezone {tz}; rulerun.yaml says {self.account.timezone} "
                f"(set `timezone: {tz}` so that sync stops at the shop's yesterday)"
            ]
        return []

    def zone(self) -> ZoneInfo:
        name = self.shop().get("ianaTimezone") or self.account.timezone
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.error(PermanentError, f"the shop's timezone {name!r} is unknown") from None

    def read(self, date_from: date, date_to: date) -> Fetched:
        before = self.calls
        zone = self.zone()
        # the small lists first, while the bucket is full: the orders then spend it page after page
        discounts = list(self._paged("Discounts", DISCOUNTS_QUERY, "codeDiscountNodes", {"first": self.LIST_PAGE}))
        products = [
            self._product_entity(p)
            for p in self._paged("Products", PRODUCTS_QUERY, "products", {"first": self.PRODUCTS_PAGE})
        ]
        pages = list(self._paged("Pages", PAGES_QUERY, "pages", {"first": self.LIST_PAGE}))
        agg = _Days(self, zone)
        for order in self.orders(date_from, date_to, zone):
            agg.add(order)
        # sync replaces the account's entities with these: the whole list, not only what sold in the range
        listed = {e["entity_id"] for e in products}
        entities = [self._store_entity(), *products, *agg.product_entities(listed)]
        entities += [self._discount_entity(d) for d in discounts if _discount(d) is not None]
        entities += [self._page_entity(p) for p in pages]
        known = {e["entity_id"] for e in entities if e["level"] == "discount"}
        entities += agg.unlisted_discounts(known)
        metrics = agg.rows(date_from, date_to)
        return Fetched(entities=entities, metrics=metrics, api_calls=self.calls - before)

    def orders(self, date_from: date, date_to: date, zone: ZoneInfo) -> Iterator[dict[str, Any]]:
        """The range's orders (shop days), test orders left out, each with all its line items.

        More than `BULK_OVER` orders are read by one bulk operation, which the cost bucket does
        not meter (a standard shop would wait about 10 s of bucket per 70 orders paged); fewer in
        cursor pages.
        """
        lo = datetime.combine(date_from, datetime.min.time(), zone).astimezone(UTC)
        hi = datetime.combine(date_to + timedelta(days=1), datetime.min.time(), zone).astimezone(UTC)
        q = f"created_at:>={_instant(lo)} created_at:<{_instant(hi)} test:false"
        if self._count(q) > self.BULK_OVER:
            bulk = self._bulk(q)
            if bulk is not None:
                yield from bulk
                return
        query = ORDERS_QUERY % {"m": _MONEY, "lines": self.LINE_ITEMS}
        for order in self._paged("Orders", query, "orders", {"first": self.ORDERS_PAGE, "q": q}):
            if not isinstance(order, dict) or not order.get("id") or not order.get("createdAt"):
                raise self.error(PermanentError, f"malformed order in the list: {str(order)[:80]}")
            if order.get("test"):
                continue  # the query leaves them out already; a shop that ignores the filter still does not count them
            lines = order.get("lineItems") or {}
            items = list(lines.get("nodes") or [])
            page = lines.get("pageInfo") or {}
            if page.get("hasNextPage"):
                items += self._more_lines(order["id"], page.get("endCursor"))
            yield {**order, "lineItems": items}

    def _count(self, q: str) -> int:
        counted = self._gql("OrdersCount", COUNT_QUERY, {"q": q}).get("ordersCount")
        try:
            return int(counted["count"]) if isinstance(counted, dict) else 0
        except (TypeError, ValueError):
            return 0

    def _bulk(self, q: str) -> list[dict[str, Any]] | None:
        """The orders of `q` through a bulk operation (run, poll, download the JSONL); None when the
        shop runs another bulk query of this app now (the caller pages instead)."""
        data = self._gql("BulkOrders", BULK_RUN, {"query": BULK_ORDERS.replace("QUERY", q)})
        payload = data.get("bulkOperationRunQuery") or {}
        problems = [e for e in payload.get("userErrors") or [] if isinstance(e, dict)]
        if problems:
            if any("in progress" in str(p.get("message", "")).lower() for p in problems):
                return None
            self._user_errors("bulkOperationRunQuery", data, "the bulk read of orders")
        op = payload.get("bulkOperation") or {}
        if not op.get("id"):
            raise self.error(PermanentError, "the bulk read of orders started without an id")
        url = self._await_bulk(str(op["id"]))
        return self._bulk_orders(url) if url else []

    def _await_bulk(self, op_id: str) -> str | None:
        """Poll until the bulk operation ends (pauses growing from `poll_interval` to 30 s); its file's URL."""
        waited, pause = 0.0, self.poll_interval
        while True:
            node = self._gql("BulkStatus", BULK_STATUS, {"id": op_id}).get("node") or {}
            status = node.get("status")
            if status == "COMPLETED":
                return node.get("url")  # none when nothing matched
            if status in ("FAILED", "CANCELED", "CANCELING", "EXPIRED"):
                raise self.error(
                    TransientError, f"the bulk read of orders ended {status} ({node.get('errorCode') or 'no code'})"
                )
            if status not in ("CREATED", "RUNNING"):
                raise self.error(PermanentError, f"malformed bulk operation status {str(status)[:40]!r}")
            if waited + pause > self.bulk_timeout:
                raise self.error(
                    TransientError,
                    f"the bulk read of orders was not ready after {waited:.0f} s: nothing was stored, sync again later",
                )
            self.sleep(pause)
            waited += pause
            pause = min(pause * 1.5, 30.0)

    def _bulk_orders(self, url: str) -> list[dict[str, Any]]:
        """The JSONL file: an order a line, then its line items, each a line naming its order (`__parentId`)."""
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        # a pre-signed link: a client of its own, so that the access token never goes to it
        with self.http_client(f"{parts.scheme}://{parts.netloc}", timeout=300) as files:
            response = files.request("GET", path)
        orders: dict[str, dict[str, Any]] = {}
        for n, line in enumerate(response.text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                raise self.error(PermanentError, f"malformed bulk file: line {n} is not JSON") from None
            parent = obj.get("__parentId") if isinstance(obj, dict) else None
            if parent is not None:
                if parent not in orders:
                    raise self.error(PermanentError, f"malformed bulk file: line {n} names an unknown order")
                orders[parent]["lineItems"].append(obj)
            elif isinstance(obj, dict) and obj.get("id") and obj.get("createdAt"):
                orders[str(obj["id"])] = {**obj, "lineItems": []}
            else:
                raise self.error(PermanentError, f"malformed bulk file: line {n} is no order")
        return [o for o in orders.values() if not o.get("test")]

    def _more_lines(self, order_id: str, after: str | None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            data = self._gql("OrderLineItems", LINE_ITEMS_QUERY, {"id": order_id, "first": 250, "after": after})
            conn = ((data.get("order") or {}).get("lineItems")) or {}
            out += conn.get("nodes") or []
            page = conn.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return out
            after = page.get("endCursor")

    def _entity(self, level: str, entity_id: str, name: Any, status: str | None = "active") -> dict[str, Any]:
        return {
            "platform": PLATFORM,
            "account_id": self.account.account_id,
            "level": level,
            "entity_id": entity_id,
            "parent_id": None if level == "account" else self.account.account_id,
            "name": name,
            "status": status,
            "currency": self.account.currency,
        }

    def _store_entity(self) -> dict[str, Any]:
        return self._entity("account", self.account.account_id, self.shop().get("name"))

    def _discount_entity(self, node: Any) -> dict[str, Any]:
        d = _discount(node)
        if d is None:
            raise self.error(PermanentError, f"malformed discount in the list: {str(node)[:80]}")
        vocabulary = self.catalog.status_vocabulary(PLATFORM)
        return self._entity("discount", d["code"], d["title"], vocabulary.get(d["status"] or "", None))

    def _product_entity(self, node: Any) -> dict[str, Any]:
        if not isinstance(node, dict) or not node.get("id"):
            raise self.error(PermanentError, f"malformed product in the list: {str(node)[:80]}")
        vocabulary = self.catalog.status_vocabulary(PLATFORM)
        row = self._entity(
            "product", str(node["id"]), node.get("title"), vocabulary.get(str(node.get("status") or ""), None)
        )
        row["product"] = _handle(node)
        return row

    def _page_entity(self, node: Any) -> dict[str, Any]:
        if not isinstance(node, dict) or not node.get("id"):
            raise self.error(PermanentError, f"malformed page in the list: {str(node)[:80]}")
        row = self._entity("page", str(node["id"]), node.get("title"))
        row["body"] = node.get("body")
        return row

    # ------------------------------------------------------------------ state and writes

    def state(self, key: EntityKey) -> dict[str, Any]:
        if key.level == "page":
            page = self._gql("Page", PAGE_QUERY, {"id": key.entity_id}).get("page")
            if not isinstance(page, dict):
                raise self.error(PermanentError, f"unknown page {key.entity_id} in this shop")
            return {"body": page.get("body") or ""}
        if key.level == "account":
            if key.entity_id != self.account.account_id:
                raise self.error(PermanentError, f"unknown store {key.entity_id}")
            nodes = self._paged("Discounts", DISCOUNTS_QUERY, "codeDiscountNodes", {"first": 100, "q": "status:active"})
            return {"discounts": [d for d in (_discount(n) for n in nodes) if d and d["status"] == "ACTIVE"]}
        raise self.error(PermanentError, f"Shopify {key.level}s cannot be changed")

    def write(self, change: Change) -> Written:
        if change.attribute == "body":
            return self._update_page(change)
        if change.attribute == "discount" and change.value is not None:
            return self._create_discount(change.value)
        if change.attribute == "discount" and isinstance(change.current, dict):
            return self._mutate("DiscountDeactivate", DISCOUNT_DEACTIVATE, "discountCodeDeactivate", change.current)
        raise self.error(PermanentError, f"Shopify cannot change {change.attribute}")

    def _update_page(self, change: Change) -> Written:
        root = "pageUpdate"
        data = self._gql("PageUpdate", PAGE_UPDATE, {"id": change.key.entity_id, "page": {"body": change.value}})
        self._user_errors(root, data, f"page {change.key.entity_id}")
        return Written({"id": change.key.entity_id})

    def _create_discount(self, want: dict[str, Any]) -> Written:
        code = str(want["code"])
        # a code deactivated earlier (a rollback) is activated again: codes are unique per shop
        nodes = self._paged("Discounts", DISCOUNTS_QUERY, "codeDiscountNodes", {"first": 10, "q": f"code:{code}"})
        existing = next((d for d in (_discount(n) for n in nodes) if d and d["code"].lower() == code.lower()), None)
        if existing is not None:
            return self._mutate("DiscountActivate", DISCOUNT_ACTIVATE, "discountCodeActivate", existing)
        data = self._gql("DiscountCreate", DISCOUNT_CREATE, {"basicCodeDiscount": self._discount_input(want)})
        root = "discountCodeBasicCreate"
        self._user_errors(root, data, f"discount {code}")
        node = (data[root] or {}).get("codeDiscountNode") or {}
        return Written({"id": node.get("id"), "code": code})

    def _mutate(self, operation: str, query: str, root: str, discount: dict[str, Any]) -> Written:
        data = self._gql(operation, query, {"id": discount["id"]})
        self._user_errors(root, data, f"discount {discount['code']}")
        return Written({"id": discount["id"], "code": discount["code"]})

    def _discount_input(self, want: dict[str, Any]) -> dict[str, Any]:
        starts = _day(want.get("starts_at"), self) or datetime.now(UTC).replace(microsecond=0)
        ends = _day(want.get("ends_at"), self)
        if ends is None and want.get("days"):
            ends = starts + timedelta(days=int(want["days"]))
        if "percentage" in want and want["percentage"] is not None:
            value: dict[str, Any] = {"percentage": round(float(want["percentage"]) / 100.0, 4)}
        else:
            value = {"discountAmount": {"amount": str(want.get("amount")), "appliesOnEachItem": False}}
        out: dict[str, Any] = {
            "title": want.get("title") or want["code"],
            "code": want["code"],
            "startsAt": _instant(starts),
            "customerSelection": {"all": True},
            "customerGets": {"value": value, "items": {"all": True}},
            "appliesOncePerCustomer": bool(want.get("once_per_customer", False)),
        }
        if ends is not None:
            out["endsAt"] = _instant(ends)
        if want.get("usage_limit") is not None:
            out["usageLimit"] = int(want["usage_limit"])
        return out

    def _user_errors(self, root: str, data: dict[str, Any], what: str) -> None:
        payload = data.get(root)
        if not isinstance(payload, dict):
            raise self.error(PermanentError, f"{what}: malformed answer to {root}")
        problems = [e for e in payload.get("userErrors") or [] if isinstance(e, dict)]
        if problems:
            text = "; ".join(
                f"{'.'.join(str(f) for f in (p.get('field') or [])) or 'input'}: {p.get('message')}"
                + (f" ({p['code']})" if p.get("code") else "")
                for p in problems
            )
            raise self.error(PermanentError, f"{what} refused by Shopify: {text}")


class _Days:
    """Orders summed per shop day: the store's row, each product's and each discount code's."""

    def __init__(self, adapter: ShopifyAdapter, zone: ZoneInfo) -> None:
        self.adapter, self.zone = adapter, zone
        self.store: dict[date, dict[str, Any]] = defaultdict(_zero_store)
        self.products: dict[tuple[date, str], dict[str, Any]] = defaultdict(_zero_item)
        self.codes: dict[tuple[date, str], dict[str, Any]] = defaultdict(_zero_item)
        self.product_info: dict[str, dict[str, Any]] = {}

    def add(self, order: dict[str, Any]) -> None:
        a = self.adapter
        try:
            day = datetime.fromisoformat(str(order["createdAt"]).replace("Z", "+00:00")).astimezone(self.zone).date()
        except ValueError:
            raise a.error(PermanentError, f"order {order['id']}: malformed createdAt {order['createdAt']!r}") from None
        total = _amount(order, "totalPriceSet", a)
        discounts = _amount(order, "totalDiscountsSet", a)
        refunded = _amount(order, "totalRefundedSet", a)
        row = self.store[day]
        row["orders"] += 1
        row["gross_revenue"] += total + discounts
        row["net_revenue"] += total - refunded
        index = (order.get("customerJourneySummary") or {}).get("customerOrderIndex")
        known = bool(order.get("customer")) and isinstance(index, int)
        new = known and index == 1
        if known:
            row["new_customers" if new else "returning_customers"] += 1
        seen: set[str] = set()
        for item in order["lineItems"]:
            product = (item or {}).get("product") if isinstance(item, dict) else None
            if not isinstance(product, dict) or not product.get("id"):
                continue  # a custom line item or a deleted product: the store's row has it
            pid = str(product["id"])
            self.product_info[pid] = product
            p = self.products[(day, pid)]
            p["revenue"] += _money(item.get("discountedTotalSet"), a, f"order {order['id']} line item")
            p["units"] += int(item.get("quantity") or 0)
            row["units_sold"] += int(item.get("quantity") or 0)
            if pid not in seen:
                p["orders"] += 1
                p["new_customers"] += int(new)  # the product's new buyers: its Net New CAC divides by them
                seen.add(pid)
        for code in order.get("discountCodes") or []:
            c = self.codes[(day, str(code))]
            c["orders"] += 1
            c["revenue"] += total

    def product_entities(self, listed: set[str]) -> list[dict[str, Any]]:
        """Products sold in the range that the product list no longer holds (deleted since): rows need an entity."""
        out = []
        for pid, info in self.product_info.items():
            if pid in listed:
                continue
            row = self.adapter._entity("product", pid, info.get("title"))
            row["product"] = _handle(info)
            out.append(row)
        return out

    def unlisted_discounts(self, known: set[str]) -> list[dict[str, Any]]:
        """Codes used in orders that the discount list no longer holds (deleted, automatic): rows need an entity."""
        codes = sorted({code for _, code in self.codes} - known)
        return [self.adapter._entity("discount", code, code, None) for code in codes]

    def rows(self, date_from: date, date_to: date) -> list[dict[str, Any]]:
        a = self.adapter
        out = []
        day = date_from
        while day <= date_to:  # every day of the store, orders or not: a day without orders is 0, not unknown
            s = self.store[day]
            raw = {k: float(v) if isinstance(v, Decimal) else v for k, v in s.items()}
            out.append(self._row(day, "account", a.account.account_id, raw))
            day += timedelta(days=1)
        for (day, pid), p in sorted(self.products.items()):
            raw = {
                "orders": p["orders"],
                "gross_revenue": float(p["revenue"]),
                "units_sold": p["units"],
                "new_customers": p["new_customers"],
            }
            out.append(self._row(day, "product", pid, raw))
        for (day, code), c in sorted(self.codes.items()):
            out.append(self._row(day, "discount", code, {"orders": c["orders"], "gross_revenue": float(c["revenue"])}))
        return out

    def _row(self, day: date, level: str, entity_id: str, raw: dict[str, Any]) -> dict[str, Any]:
        a = self.adapter
        return {
            "date": day.isoformat(),
            "platform": PLATFORM,
            "account_id": a.account.account_id,
            "level": level,
            "entity_id": entity_id,
            **a.metrics(raw),
        }


def _zero_store() -> dict[str, Any]:
    return {
        "orders": 0,
        "gross_revenue": Decimal(0),
        "net_revenue": Decimal(0),
        "new_customers": 0,
        "returning_customers": 0,
        "units_sold": 0,
    }


def _zero_item() -> dict[str, Any]:
    return {"orders": 0, "revenue": Decimal(0), "units": 0, "new_customers": 0}


def _money(value: Any, adapter: ShopifyAdapter, what: str) -> Decimal:
    """A MoneyBag's shop-currency amount (a decimal string) as a Decimal; 0 when absent."""
    if value is None:
        return Decimal(0)
    money = value.get("shopMoney") if isinstance(value, dict) else None
    amount = money.get("amount") if isinstance(money, dict) else None
    try:
        return Decimal(str(amount)) if amount is not None else Decimal(0)
    except InvalidOperation:
        raise adapter.error(PermanentError, f"{what}: malformed amount {amount!r}") from None


def _amount(order: dict[str, Any], name: str, adapter: ShopifyAdapter) -> Decimal:
    return _money(order.get(name), adapter, f"order {order['id']} {name}")


def _discount(node: Any) -> dict[str, Any] | None:
    """A code discount node in the shape of the `discount` state (None when it names no code)."""
    if not isinstance(node, dict) or not isinstance(node.get("codeDiscount"), dict):
        return None
    d = node["codeDiscount"]
    codes = ((d.get("codes") or {}).get("nodes")) or []
    if not codes or not isinstance(codes[0], dict) or not codes[0].get("code"):
        return None
    value = ((d.get("customerGets") or {}).get("value")) or {}
    out: dict[str, Any] = {
        "id": node.get("id"),
        "code": codes[0]["code"],
        "title": d.get("title"),
        "status": d.get("status"),
        "usage_limit": d.get("usageLimit"),
        "used": d.get("asyncUsageCount"),
    }
    if value.get("percentage") is not None:
        out["percentage"] = round(float(value["percentage"]) * 100, 2)
    elif isinstance(value.get("amount"), dict):
        out["amount"] = float(value["amount"].get("amount") or 0)
    return out


def _handle(product: dict[str, Any]) -> str | None:
    """A product's `product` attribute: its handle (else its title), lowercase."""
    return str(product.get("handle") or product.get("title") or "").lower() or None


def _seconds(points: float, restore: float) -> float:
    """The wait for `points` at `restore` a second, rounded up to the next 10 ms (never a hair short)."""
    return max(0.0, math.ceil(points / restore * 100 - 1e-9) / 100)


def _instant(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _day(value: Any, adapter: ShopifyAdapter) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.combine(date.fromisoformat(str(value)), datetime.min.time(), UTC)
    except ValueError:
        raise adapter.error(PermanentError, f"invalid date {value!r}: use YYYY-MM-DD") from None
