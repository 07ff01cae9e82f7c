"""A local fake of the Shopify GraphQL Admin API for testing platforms/shopify/adapter.py over HTTP.

`ShopifyFake()` starts an HTTP server on 127.0.0.1; `endpoint` is the address to put in
rulerun.yaml (`{shop}` in it stands for the shop domain). It answers

    POST /shops/{shop}/admin/api/{version}/graphql.json      (and /admin/api/{version}/graphql.json)

for one shop (`SHOP`, timezone America/New_York, USD); any other shop is HTTP 404, a wrong
`X-Shopify-Access-Token` HTTP 401. The query is parsed only as far as its operation name
(`query Orders(...)`, `mutation DiscountCreate(...)`), its `first:` arguments and its
variables; every node is answered whole, whatever the selection set asks.

Operations: Shop, OrdersCount, Orders (cursor paging; `query` takes `created_at:>=` /
`created_at:<` with ISO instants and `test:false`), OrderLineItems (the rest of one order's
line items), BulkOrders (`bulkOperationRunQuery` of the orders; one at a time) and BulkStatus
(RUNNING for `bulk_polls` polls, then COMPLETED with the URL of a JSONL file served at
`GET /bulk/{id}.jsonl?signature=...`, an order a line followed by its line items, each with
`__parentId`; `downloads` records the headers each download carried), Products (cursor
paging over `products`: Bot, Dot and Board, ACTIVE, and `UNSOLD`, the draft Board Mini that
no order holds; tests add or remove entries), Pages,
Page, Discounts (code discounts; `query: "status:active"` filters), DiscountCreate
(`discountCodeBasicCreate`), DiscountActivate, DiscountDeactivate (`discountCode...`) and
PageUpdate (`pageUpdate`). Validation failures come back as `userErrors` with HTTP 200.

**Cost**: every answer carries `extensions.cost` (requestedQueryCost, actualQueryCost,
throttleStatus) from a leaky bucket per shop: `maximum` points (2,000), refilled at
`restore` points a second (100: the standard plan, PLATFORM-FACTS 6.5). A query is
refused when its requested cost exceeds what is available: `THROTTLED` in `errors` with no
`data`, as HTTP 200, or 429 when `throttle_status` is 429. The cost model (documented, the
fake's own): a connection costs 2 plus `first` times its node; an object 1 (a product node
too); an order node `ORDER_COST` plus its line items connection (`LINE_ITEM_COST` each). The actual cost counts
the nodes returned; the bucket is charged the actual cost. `clock` is the bucket's time
source (a benchmark passes a virtual clock that its recorded sleeps advance).

Data: `orders(n, days)` generates `n` orders over the `days` days before `today` (shop
time), with Bot, Dot and Board line items, returning customers (customerOrderIndex > 1),
guest checkouts (customer null), test orders, refunds and discount codes. The default shop
has a small fixed set (`fixed_orders`) tests count by hand.

Faults: `fail_next(kind, n)` with kind `auth` (401), `rate_limit` (THROTTLED, HTTP 200),
`rate_limit_429` (THROTTLED, HTTP 429), `transient` (502), `permanent` (HTTP 200 with a
GraphQL `errors` list and no `data`) and `user_error` (the mutation answers `userErrors`).
`fail_in_batch(entity_id)`: mutations on that page or discount code answer `userErrors`.
`requests` records (operation, variables); `mutations` each applied change; `arrivals`
what the bucket held when each query arrived and the cost it asked for.
"""

from __future__ import annotations

import base64
import json
import math
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes.base import HttpFakeServer

SHOP = "vibe-store.myshopify.com"
TOKEN = "shpat_SENTINEL_0123456789abcdef"
VERSION = "2026-10"
TIMEZONE = "America/New_York"
ORDER_COST = 8  # the order, its customer, journey summary and money objects
LINE_ITEM_COST = 3  # a line item, its product and its money object
PRODUCTS = {
    "gid://shopify/Product/801": ("Bot", "bot", 149.0),
    "gid://shopify/Product/802": ("Dot", "dot", 59.0),
    "gid://shopify/Product/803": ("Board", "board", 89.0),
}
# a product of the shop's list that no order holds: a draft, never sold
UNSOLD = "gid://shopify/Product/804"
PAGE_ID = "gid://shopify/Page/9001"
PAGE_BODY = "<h1>Meet Bot</h1><p>The desk robot.</p>"

_OPERATION = re.compile(r"\b(query|mutation)\s+(\w+)")
_FIRST = re.compile(r"lineItems\(first:\s*(\d+)")


class VirtualClock:
    """A clock for the fake's bucket that the adapter's sleeps advance: waits cost no real time."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.ends: list[float] = []  # when each sleep ended

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.ends.append(self.now)


def _money(amount: float, currency: str = "USD") -> dict[str, Any]:
    return {"shopMoney": {"amount": f"{amount:.2f}", "currencyCode": currency}}


def _cursor(i: int) -> str:
    return base64.b64encode(f"cursor:{i}".encode()).decode()


def _uncursor(c: str | None) -> int:
    return int(base64.b64decode(c).decode().split(":")[1]) if c else -1


class ShopifyFake(HttpFakeServer):
    def __init__(
        self,
        *,
        latency: float = 0.0,
        today: date | None = None,
        maximum: float = 2000.0,
        restore: float = 100.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.zone = ZoneInfo(TIMEZONE)
        self.today = today or datetime.now(self.zone).date()
        self.shop = SHOP
        self.token = TOKEN
        self.currency = "USD"
        self.maximum, self.restore, self.clock = maximum, restore, clock
        self.available = maximum
        self._at = clock()
        self.throttle_status = 200
        self.throttled = 0
        self.points_used = 0.0
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.mutations: list[tuple[str, dict[str, Any]]] = []
        self.failing: set[str] = set()
        self.orders_list: list[dict[str, Any]] = []
        # the shop's product list (`products`): what the orders sell, all active, and a draft never sold
        self.products = {
            pid: {"id": pid, "title": title, "handle": handle, "status": "ACTIVE"}
            for pid, (title, handle, _) in PRODUCTS.items()
        }
        self.products[UNSOLD] = {"id": UNSOLD, "title": "Board Mini", "handle": "board-mini", "status": "DRAFT"}
        self.pages = {PAGE_ID: {"id": PAGE_ID, "title": "Bot landing page", "handle": "bot", "body": PAGE_BODY}}
        self.discounts: dict[str, dict[str, Any]] = {}
        self._ids = iter(range(5000, 10**9))
        self.bulk_ops: dict[str, dict[str, Any]] = {}
        self.bulk_polls = 2  # polls a bulk operation answers RUNNING before COMPLETED
        self.downloads: list[dict[str, str]] = []  # the headers each bulk file download carried
        # (operation, points available, points requested, time) per query
        self.arrivals: list[tuple[str, float, float, float]] = []
        self.add_discount("WELCOME10", percentage=0.1, status="ACTIVE")
        self.fixed_orders()
        super().__init__(latency=latency)

    @property
    def endpoint(self) -> str:
        return self.url + "/shops/{shop}"

    # -- data

    def add_discount(
        self, code: str, *, percentage: float | None = None, status: str = "ACTIVE", kind: str = "DiscountCodeBasic"
    ) -> dict[str, Any]:
        node = {
            "kind": kind,
            "id": f"gid://shopify/DiscountCodeNode/{next(self._ids)}",
            "code": code,
            "title": code,
            "status": status,
            "percentage": percentage,
            "amount": None,
            "usageLimit": None,
            "asyncUsageCount": 0,
            "startsAt": "2026-01-01T00:00:00Z",
            "endsAt": None,
            "appliesOncePerCustomer": False,
        }
        self.discounts[code] = node
        return node

    def _order(
        self,
        n: int,
        at: datetime,
        items: list[tuple[str, int]],
        *,
        customer: str | None,
        index: int | None,
        test: bool = False,
        discount: tuple[str, float] | None = None,
        refunded: float = 0.0,
    ) -> dict[str, Any]:
        lines = []
        subtotal = 0.0
        for pid, qty in items:
            title, handle, price = PRODUCTS[pid]
            lines.append(
                {
                    "quantity": qty,
                    "product": {"id": pid, "title": title, "handle": handle},
                    "discountedTotalSet": _money(price * qty),
                }
            )
            subtotal += price * qty
        off = discount[1] if discount else 0.0
        return {
            "id": f"gid://shopify/Order/{n}",
            "name": f"#{n}",
            "createdAt": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "test": test,
            "totalPriceSet": _money(subtotal - off),
            "totalDiscountsSet": _money(off),
            "totalRefundedSet": _money(refunded),
            "discountCodes": [discount[0]] if discount else [],
            "customer": {"id": f"gid://shopify/Customer/{customer}"} if customer else None,
            "customerJourneySummary": {"customerOrderIndex": index} if index is not None else None,
            "_lines": lines,
        }

    def fixed_orders(self) -> None:
        """Two days of hand-countable orders: yesterday and the day before (shop time)."""
        d1, d2 = self.today - timedelta(days=2), self.today - timedelta(days=1)
        bot, dot, board = PRODUCTS
        at = lambda d, h: datetime(d.year, d.month, d.day, h, 30, tzinfo=self.zone)  # noqa: E731
        self.orders_list = [
            # day 1: a first order, a returning customer with a discount, a guest, a test order
            self._order(1001, at(d1, 9), [(bot, 1)], customer="1", index=1),
            self._order(1002, at(d1, 12), [(dot, 2)], customer="2", index=3, discount=("WELCOME10", 11.8)),
            self._order(1003, at(d1, 15), [(board, 1)], customer=None, index=None),
            self._order(1004, at(d1, 16), [(bot, 5)], customer="9", index=1, test=True),
            # 23:30 shop time is already the next day in UTC: it belongs to day 1
            self._order(1005, at(d1, 23), [(dot, 1)], customer="3", index=1, refunded=59.0),
            # day 2: two first orders (one of them with all three products), one returning
            self._order(1006, at(d2, 8), [(bot, 1), (dot, 1), (board, 1)], customer="4", index=1),
            self._order(1007, at(d2, 10), [(board, 2)], customer="5", index=1),
            self._order(1008, at(d2, 11), [(bot, 1)], customer="1", index=2),
        ]

    def generate(self, n: int, days: int, *, seed: int = 7, customers: int | None = None) -> None:
        """Replace the orders with `n` generated ones over the `days` days before today, by
        customers drawn from a pool of `customers` (n / 2 by default: many come back)."""
        rng = random.Random(seed)
        start = datetime(self.today.year, self.today.month, self.today.day, tzinfo=self.zone) - timedelta(days=days)
        seen: dict[str, int] = {}
        stamps = sorted(rng.random() * days * 86400 for _ in range(n))
        out = []
        for i, offset in enumerate(stamps):
            guest = rng.random() < 0.08
            customer = None if guest else str(rng.randint(1, max(1, customers or n // 2)))
            index = None
            if customer:
                seen[customer] = seen.get(customer, 0) + 1
                index = seen[customer]
            items = [(rng.choice(list(PRODUCTS)), rng.randint(1, 2)) for _ in range(rng.choice((1, 1, 2, 3)))]
            disc = ("WELCOME10", 10.0) if rng.random() < 0.1 else None
            out.append(
                self._order(
                    10_000 + i,
                    start + timedelta(seconds=offset),
                    items,
                    customer=customer,
                    index=index,
                    test=rng.random() < 0.01,
                    discount=disc,
                    refunded=20.0 if rng.random() < 0.03 else 0.0,
                )
            )
        self.orders_list = out

    # -- faults

    def fail_in_batch(self, entity_id: str) -> None:
        self.failing.add(entity_id)

    # -- the bucket

    def _refill(self) -> None:
        now = self.clock()
        self.available = min(self.maximum, self.available + (now - self._at) * self.restore)
        self._at = now

    def _status(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": math.floor(self.available * 10) / 10,  # never more than there is
            "restoreRate": self.restore,
        }

    # -- HTTP

    def handle(self, method, path, query, headers, body) -> tuple[int, bytes, dict[str, str]]:
        headers = {k.lower(): v for k, v in headers.items()}
        if method == "GET" and path.startswith("/bulk/"):  # the pre-signed file: no token, none must come
            self.downloads.append(headers)
            op = self.bulk_ops.get(path.rsplit("/", 1)[-1].removesuffix(".jsonl"))
            if op is None or "signature=" not in query:
                return 403, b"AccessDenied", {}
            return 200, op["file"], {"Content-Type": "application/jsonl"}
        with self.lock:
            status, answer, extra = self._answer(method, path, headers, body)
        return status, json.dumps(answer).encode(), {"Content-Type": "application/json", **extra}

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any, dict]:
        m = re.fullmatch(r"(?:/shops/([^/]+))?/admin/api/([0-9]{4}-[0-9]{2})/graphql\.json", path)
        if method != "POST" or m is None:
            return 404, {"errors": "Not Found"}, {}
        if (m.group(1) or self.shop) != self.shop:
            return 404, {"errors": "Not Found"}, {}
        try:
            doc = json.loads(body)
            text, variables = doc["query"], doc.get("variables") or {}
            _, operation = _OPERATION.search(text).groups()  # type: ignore[union-attr]
        except (ValueError, KeyError, TypeError, AttributeError):
            return 400, {"errors": [{"message": "Parse error: a query with an operation name is required"}]}, {}
        fault = self.record(operation, variables)
        self.requests.append((operation, variables))
        if fault == "auth" or headers.get("x-shopify-access-token") != self.token:
            return 401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, {}
        if fault == "transient":
            return 502, {"errors": "Bad Gateway"}, {}
        requested = self._requested(operation, text, variables)
        self._refill()
        self.arrivals.append((operation, self.available, requested, self.clock()))
        if fault in ("rate_limit", "rate_limit_429") or requested > self.available + 1e-6:  # float slack
            self.throttled += 1
            answer = {
                "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                "extensions": {
                    "cost": {
                        "requestedQueryCost": requested,
                        "actualQueryCost": None,
                        "throttleStatus": self._status(),
                    }
                },
            }
            return (429 if fault == "rate_limit_429" or self.throttle_status == 429 else 200), answer, {}
        if fault == "permanent":
            return 200, {"errors": [{"message": "Internal error. Looks like something went wrong on our end."}]}, {}
        data, actual = getattr(self, "_op_" + operation, self._unknown)(text, variables, fault == "user_error")
        actual = min(actual, requested)
        self.available -= actual
        self.points_used += actual
        cost = {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": self._status()}
        if data is None:
            return 200, {"errors": [{"message": f"Field '{operation}' doesn't exist"}]}, {}
        return 200, {"data": data, "extensions": {"cost": cost}}, {}

    def _requested(self, operation: str, text: str, variables: dict[str, Any]) -> int:
        first = int(variables.get("first") or 1)
        if operation == "Orders":
            found = _FIRST.search(text)
            lines = int(found.group(1)) if found else 0
            return 2 + first * (ORDER_COST + 2 + lines * LINE_ITEM_COST)
        if operation == "OrderLineItems":
            return 3 + first * LINE_ITEM_COST
        if operation in ("Pages", "Discounts"):
            return 2 + first * 2
        if operation == "Products":
            return 2 + first
        return 10 if text.lstrip().startswith("mutation") else 1

    def _unknown(self, text, variables, fail) -> tuple[None, int]:
        return None, 1

    # -- queries

    def _op_Shop(self, text, variables, fail):
        shop = {"name": "Vibe Store", "myshopifyDomain": self.shop, "ianaTimezone": TIMEZONE}
        return {"shop": {**shop, "currencyCode": self.currency}}, 1

    def _op_Orders(self, text, variables, fail):
        first = min(int(variables.get("first") or 50), 250)
        lines_first = int(_FIRST.search(text).group(1)) if _FIRST.search(text) else 0
        q = variables.get("q") or ""
        lo = re.search(r"created_at:>=(\S+)", q)
        hi = re.search(r"created_at:<(\S+)", q)
        no_test = "test:false" in q
        start = _uncursor(variables.get("after")) + 1
        nodes, last = [], start - 1
        for i in range(start, len(self.orders_list)):
            o = self.orders_list[i]
            if lo and o["createdAt"] < lo.group(1).strip("'\""):
                continue
            if hi and o["createdAt"] >= hi.group(1).strip("'\""):
                continue
            if no_test and o["test"]:
                continue
            if len(nodes) == first:
                break
            nodes.append((i, o))
            last = i
        more = any(
            (not lo or o["createdAt"] >= lo.group(1).strip("'\""))
            and (not hi or o["createdAt"] < hi.group(1).strip("'\""))
            and not (no_test and o["test"])
            for o in self.orders_list[last + 1 :]
        )
        edges = []
        actual = 2
        for i, o in nodes:
            lines = o["_lines"][:lines_first]
            node = {k: v for k, v in o.items() if k != "_lines"}
            node["lineItems"] = {
                "nodes": lines,
                "pageInfo": {"hasNextPage": len(o["_lines"]) > lines_first, "endCursor": _cursor(len(lines) - 1)},
            }
            edges.append({"cursor": _cursor(i), "node": node})
            actual += ORDER_COST + 2 + len(lines) * LINE_ITEM_COST
        page = {"hasNextPage": more, "endCursor": _cursor(last) if nodes else None}
        return {"orders": {"edges": edges, "pageInfo": page}}, actual

    def _matching(self, q: str) -> list[dict[str, Any]]:
        lo = re.search(r"created_at:>=(\S+)", q)
        hi = re.search(r"created_at:<(\S+)", q)
        return [
            o
            for o in self.orders_list
            if (not lo or o["createdAt"] >= lo.group(1))
            and (not hi or o["createdAt"] < hi.group(1))
            and not ("test:false" in q and o["test"])
        ]

    def _op_OrdersCount(self, text, variables, fail):
        return {"ordersCount": {"count": len(self._matching(variables.get("q") or "")), "precision": "EXACT"}}, 1

    def _op_BulkOrders(self, text, variables, fail):
        root = "bulkOperationRunQuery"
        inner = variables.get("query") or ""
        if any(op["status"] == "RUNNING" for op in self.bulk_ops.values()):
            message = "A bulk query operation for this app and shop is already in progress"
            return self._user_error(root, ["query"], message)
        found = re.search(r'orders\(query: "([^"]*)"', inner)
        if found is None or "lineItems" not in inner:
            return self._user_error(root, ["query"], "Invalid bulk query: orders with a query argument expected")
        lines = []
        for o in self._matching(found.group(1)):
            lines.append(json.dumps({k: v for k, v in o.items() if k != "_lines"}))
            lines += [json.dumps({**item, "__parentId": o["id"]}) for item in o["_lines"]]
        op_id = f"gid://shopify/BulkOperation/{next(self._ids)}"
        self.bulk_ops[op_id.rsplit("/", 1)[-1]] = {
            "id": op_id,
            "status": "RUNNING",
            "polls": 0,
            "count": len(lines),
            "file": ("\n".join(lines) + "\n").encode() if lines else b"",
        }
        return {root: {"bulkOperation": {"id": op_id, "status": "CREATED"}, "userErrors": []}}, 10

    def _op_BulkStatus(self, text, variables, fail):
        key = str(variables.get("id") or "").rsplit("/", 1)[-1]
        op = self.bulk_ops.get(key)
        if op is None:
            return {"node": None}, 1
        op["polls"] += 1
        if op["polls"] > self.bulk_polls:
            op["status"] = "COMPLETED"
        url = f"{self.url}/bulk/{key}.jsonl?signature=SIGNED" if op["status"] == "COMPLETED" and op["count"] else None
        node = {"id": op["id"], "status": op["status"], "errorCode": None, "objectCount": str(op["count"]), "url": url}
        return {"node": node}, 1

    def _op_OrderLineItems(self, text, variables, fail):
        order = next((o for o in self.orders_list if o["id"] == variables.get("id")), None)
        if order is None:
            return {"order": None}, 1
        first = int(variables.get("first") or 50)
        start = _uncursor(variables.get("after")) + 1
        lines = order["_lines"][start : start + first]
        more = start + first < len(order["_lines"])
        page = {"hasNextPage": more, "endCursor": _cursor(start + len(lines) - 1)}
        return {"order": {"id": order["id"], "lineItems": {"nodes": lines, "pageInfo": page}}}, 3 + len(lines) * 3

    def _op_Pages(self, text, variables, fail):
        nodes = [{k: p[k] for k in ("id", "title", "handle", "body")} for p in self.pages.values()]
        return {"pages": {"nodes": nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}}, 2 + len(nodes)

    def _op_Products(self, text, variables, fail):
        found = list(self.products.values())
        first = min(int(variables.get("first") or 50), 250)
        start = _uncursor(variables.get("after")) + 1
        chunk = [dict(p) for p in found[start : start + first]]
        page = {"hasNextPage": start + first < len(found), "endCursor": _cursor(start + len(chunk) - 1)}
        return {"products": {"nodes": chunk, "pageInfo": page}}, 2 + len(chunk)

    def _op_Page(self, text, variables, fail):
        page = self.pages.get(variables.get("id"))
        return {"page": dict(page) if page else None}, 1

    def _discount_node(self, d: dict[str, Any]) -> dict[str, Any]:
        if d["kind"] != "DiscountCodeBasic":  # the fields every code discount has, no value
            fields = ("title", "status", "startsAt", "endsAt", "usageLimit", "asyncUsageCount")
            common = {k: d[k] for k in fields}
            return {
                "id": d["id"],
                "codeDiscount": {"__typename": d["kind"], **common, "codes": {"nodes": [{"code": d["code"]}]}},
            }
        value = (
            {"__typename": "DiscountPercentage", "percentage": d["percentage"]}
            if d["percentage"] is not None
            else {"__typename": "DiscountAmount", "amount": {"amount": f"{d['amount']:.2f}", "currencyCode": "USD"}}
        )
        return {
            "id": d["id"],
            "codeDiscount": {
                "__typename": "DiscountCodeBasic",
                "title": d["title"],
                "status": d["status"],
                "startsAt": d["startsAt"],
                "endsAt": d["endsAt"],
                "usageLimit": d["usageLimit"],
                "asyncUsageCount": d["asyncUsageCount"],
                "appliesOncePerCustomer": d["appliesOncePerCustomer"],
                "codes": {"nodes": [{"code": d["code"]}]},
                "customerGets": {"value": value},
            },
        }

    def _op_Discounts(self, text, variables, fail):
        q = variables.get("q") or ""
        found = [d for d in self.discounts.values() if "status:active" not in q or d["status"] == "ACTIVE"]
        first = int(variables.get("first") or 50)
        start = _uncursor(variables.get("after")) + 1
        chunk = found[start : start + first]
        page = {"hasNextPage": start + first < len(found), "endCursor": _cursor(start + len(chunk) - 1)}
        return {"codeDiscountNodes": {"nodes": [self._discount_node(d) for d in chunk], "pageInfo": page}}, 2 + 2 * len(
            chunk
        )

    # -- mutations

    def _user_error(self, root: str, field: list[str], message: str, code: str = "INVALID") -> tuple[dict, int]:
        return {root: {"userErrors": [{"field": field, "message": message, "code": code}]}}, 10

    def _op_DiscountCreate(self, text, variables, fail):
        root = "discountCodeBasicCreate"
        d = variables.get("basicCodeDiscount") or {}
        code = d.get("code")
        if fail or code in self.failing:
            return self._user_error(root, ["basicCodeDiscount", "code"], "Code is invalid", "INVALID")
        if not code or not d.get("title"):
            return self._user_error(root, ["basicCodeDiscount", "code"], "Code can't be blank", "BLANK")
        if code in self.discounts:
            return self._user_error(root, ["basicCodeDiscount", "code"], "Code must be unique", "TAKEN")
        value = ((d.get("customerGets") or {}).get("value")) or {}
        pct = value.get("percentage")
        amount = (value.get("discountAmount") or {}).get("amount")
        if pct is not None and not (0 < float(pct) <= 1):
            field = ["basicCodeDiscount", "customerGets", "value", "percentage"]
            return self._user_error(root, field, "Value must be between 0.0 and 1.0", "VALUE_OUTSIDE_RANGE")
        if (pct is None) == (amount is None):
            field = ["basicCodeDiscount", "customerGets", "value"]
            return self._user_error(root, field, "Value is invalid", "INVALID")
        node = self.add_discount(code, percentage=float(pct) if pct is not None else None)
        node.update(
            title=d["title"],
            amount=float(amount) if amount is not None else None,
            usageLimit=d.get("usageLimit"),
            startsAt=d.get("startsAt"),
            endsAt=d.get("endsAt"),
            appliesOncePerCustomer=bool(d.get("appliesOncePerCustomer")),
        )
        self.mutations.append((root, dict(d)))
        return {root: {"codeDiscountNode": {"id": node["id"]}, "userErrors": []}}, 10

    def _toggle(self, root: str, variables: dict[str, Any], status: str, fail: bool) -> tuple[dict, int]:
        node = next((d for d in self.discounts.values() if d["id"] == variables.get("id")), None)
        if node is None:
            return self._user_error(root, ["id"], "Discount does not exist", "INVALID")
        if fail or node["code"] in self.failing:
            return self._user_error(root, ["id"], "Discount cannot be changed", "INVALID")
        node["status"] = status
        self.mutations.append((root, {"id": node["id"]}))
        return {root: {"codeDiscountNode": {"id": node["id"]}, "userErrors": []}}, 10

    def _op_DiscountActivate(self, text, variables, fail):
        return self._toggle("discountCodeActivate", variables, "ACTIVE", fail)

    def _op_DiscountDeactivate(self, text, variables, fail):
        return self._toggle("discountCodeDeactivate", variables, "EXPIRED", fail)

    def _op_PageUpdate(self, text, variables, fail):
        root = "pageUpdate"
        page = self.pages.get(variables.get("id"))
        if page is None:
            return self._user_error(root, ["id"], "Page does not exist", "NOT_FOUND")
        if fail or page["id"] in self.failing:
            return self._user_error(root, ["page", "body"], "Body contains a forbidden script tag", "INVALID")
        body = (variables.get("page") or {}).get("body")
        if not isinstance(body, str):
            return self._user_error(root, ["page", "body"], "Body is invalid", "INVALID")
        page["body"] = body
        self.mutations.append((root, {"id": page["id"], "body": body}))
        return {root: {"page": {"id": page["id"], "body": body}, "userErrors": []}}, 10


class ContractHarness:
    """The contract suite's handle on this fake (tests/contract/__init__.py)."""

    platform = "shopify"
    faults = ("auth", "rate_limit", "transient", "permanent")
    secrets = [TOKEN]
    fault_action = ("update_page", "page")

    def __init__(self, tmp_path, monkeypatch) -> None:
        self.fake = ShopifyFake()
        monkeypatch.setenv("SHOPIFY_ACCESS_TOKEN", TOKEN)

    def adapter(self, currency: str = "USD") -> Any:
        from platforms.adapter import Account
        from platforms.shopify.adapter import ShopifyAdapter

        return ShopifyAdapter(Account("shopify", SHOP, currency=currency, endpoint=self.fake.endpoint))

    def entity(self, action_type: str, level: str) -> Any:
        from engine.core.execution import EntityKey

        return EntityKey("shopify", SHOP, level, PAGE_ID if level == "page" else SHOP)

    def request(self, action_type: str, key: Any, state: dict[str, Any], action_id: str) -> Any:
        from engine.core.execution import ActionRequest

        if action_type == "create_discount":
            discount = {"code": "WINBACK15", "title": "Winback 15%", "percentage": 15, "usage_limit": 500}
            return ActionRequest(action_id, key, action_type, {}, {"discount": None}, {"discount": discount})
        body = state["body"] + f"<p>{action_id}</p>"
        return ActionRequest(action_id, key, action_type, {"body": body}, {"body": state["body"]}, {"body": body})

    def shows(self, state: dict[str, Any], req: Any) -> bool:
        if req.type == "create_discount":
            return any(d["code"] == req.after["discount"]["code"] for d in state["discounts"])
        return state["body"] == req.after["body"]

    def second(self, key: Any) -> Any:
        """Another entity the fault action can change (a second page), for a batch."""
        from engine.core.execution import EntityKey

        other = "gid://shopify/Page/9002"
        self.fake.pages[other] = {"id": other, "title": "Dot", "handle": "dot", "body": "<p>Dot</p>"}
        return EntityKey("shopify", SHOP, "page", other)

    def writes(self) -> int:
        return len(self.fake.mutations)

    def fail_next(self, kind: str) -> None:
        self.fake.fail_next(kind, n=1)

    def fail_in_batch(self, key: Any) -> None:
        self.fake.fail_in_batch(key.entity_id)

    def close(self) -> None:
        self.fake.close()
