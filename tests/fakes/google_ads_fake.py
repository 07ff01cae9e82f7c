"""A local Google Ads API (v26) over real gRPC, for testing platforms/google_ads.py offline.

`GoogleAdsFake()` starts a gRPC server on 127.0.0.1 (port 0, plaintext) with generic
handlers for the methods the adapter uses, (de)serializing with the google-ads package's
own protobuf classes. It holds one small customer account in memory, answers the GAQL
the adapter sends (a tiny parser: SELECT / FROM / WHERE with =, !=, BETWEEN, AND / LIMIT),
and applies mutates (partial_failure honoured). Scriptable faults:

- `fail_next(kind, n=1, method=None)`: kind "quota" (RESOURCE_EXHAUSTED with a
  googleadsfailure-bin quota error and a retry delay), "unavailable", "auth"
  (UNAUTHENTICATED with an authentication error), "invalid_grant" (UNAVAILABLE as gRPC
  reports a refresh token Google refused), "permanent" (INVALID_ARGUMENT with a request
  error), "malformed" (undecodable response bytes).
- `fail_operation(resource_name)`: that operation fails inside a partial-failure mutate.
- requests for any customer other than `customer_id` fail with INVALID_CUSTOMER_ID.
- `stream_batch`: rows per streamed SearchStream response (several batches per query).

The account's `currency_code` sets the billable unit that budgets must be multiples of.
Recording, the fault queue and latency come from tests/fakes/base.py.
"""

from __future__ import annotations

import re
from concurrent import futures
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tests.fakes.base import HOST, FakeServer

V = "v26"
PKG = f"google.ads.googleads.{V}"
FAILURE_KEY = f"{PKG}.errors.googleadsfailure-bin"
TOKEN = "fake-access-token"


def _pb(module: str, name: str) -> Any:
    import importlib

    return getattr(importlib.import_module(f"{PKG}.{module}"), name).pb()


@dataclass
class Account:
    customer_id: str = "1234567890"
    name: str = "Acme Widgets (fake)"
    currency_code: str = "USD"
    budgets: dict[str, int] = field(default_factory=dict)  # budget id -> amount_micros
    shared_budgets: set[str] = field(default_factory=set)  # explicitly shared budget ids
    campaigns: dict[str, dict] = field(default_factory=dict)
    labels: list[tuple[str, str]] = field(default_factory=list)  # (campaign id, label)
    ad_groups: dict[str, dict] = field(default_factory=dict)
    keywords: dict[str, dict] = field(default_factory=dict)  # "adgroup~criterion" -> row
    search_terms: list[tuple[str, str]] = field(default_factory=list)  # (ad group id, term)
    negatives: dict[str, dict] = field(default_factory=dict)  # "campaign~criterion" -> row
    days: list[date] = field(default_factory=list)


def default_account() -> Account:
    a = Account()
    a.budgets = {"501": 50_000_000, "502": 20_000_000, "503": 10_000_000}
    a.campaigns = {
        "11": {"name": "Brand - Search", "status": "ENABLED", "budget": "501", "bidding": "MANUAL_CPC"},
        "12": {"name": "Generic - Widgets", "status": "ENABLED", "budget": "502", "bidding": "TARGET_CPA"},
        "13": {"name": "Shopping - All", "status": "PAUSED", "budget": "503", "bidding": "MAXIMIZE_CONVERSIONS"},
    }
    a.labels = [("13", "Brand-Core"), ("12", "q3-push")]
    a.ad_groups = {
        "21": {"campaign": "11", "name": "Brand Exact", "status": "ENABLED", "cpc": 1_500_000},
        "22": {"campaign": "12", "name": "Widgets", "status": "ENABLED", "cpc": 800_000},
        "23": {"campaign": "13", "name": "Old", "status": "REMOVED", "cpc": 0},
    }
    a.keywords = {
        "21~31": {"text": "acme", "match": "EXACT", "status": "ENABLED", "cpc": 1_200_000},
        "22~32": {"text": "blue widget", "match": "PHRASE", "status": "ENABLED", "cpc": 900_000},
        "22~33": {"text": "widgets", "match": "BROAD", "status": "PAUSED", "cpc": 0},
    }
    a.search_terms = [("22", "cheap widgets"), ("22", "widget repair"), ("21", "acme store")]
    a.negatives = {"12~901": {"text": "diy widgets", "match": "EXACT"}}
    a.days = [date(2026, 3, 1) + timedelta(days=i) for i in range(3)]
    return a


def bulk_account(ad_groups: int) -> Account:
    """The default account plus `ad_groups` enabled ad groups with manual bids (ids 1000, 1001, ...)."""
    a = default_account()
    for i in range(ad_groups):
        a.ad_groups[str(1000 + i)] = {"campaign": "11", "name": f"Bulk {i}", "status": "ENABLED", "cpc": 1_000_000}
    return a


def _metrics(seed: int, day: date) -> dict[str, Any]:
    k = seed + day.day
    return {
        "metrics.cost_micros": 1_250_000 * k,
        "metrics.impressions": 100 * k,
        "metrics.clicks": 7 * k,
        "metrics.conversions": 0.5 * k,
        "metrics.conversions_value": 20.0 * k,
        "metrics.video_trueview_views": k,
    }


class GaqlError(Exception):
    pass


_COND = re.compile(
    r"^\s*([a-z_.]+)\s*(?:(=|!=)\s*('(?:[^'\\]|\\.)*'|[A-Za-z0-9_\-]+)"
    r"|BETWEEN\s*'([^']*)'\s*AND\s*'([^']*)')\s*$",
    re.I,
)


def parse_gaql(query: str) -> dict[str, Any]:
    m = re.match(
        r"^\s*SELECT\s+(.+?)\s+FROM\s+([a-z_]+)(?:\s+WHERE\s+(.+?))?(?:\s+LIMIT\s+(\d+))?\s*$", query, re.I | re.S
    )
    if not m:
        raise GaqlError(f"cannot parse query: {query!r}")
    fields = [f.strip() for f in m.group(1).split(",")]
    conds = []
    if m.group(3):
        # split on AND, except the AND of BETWEEN 'a' AND 'b'
        parts = re.split(r"\s+AND\s+(?!'\d{4}-\d\d-\d\d')", m.group(3), flags=re.I)
        for part in parts:
            c = _COND.match(part)
            if not c:
                raise GaqlError(f"cannot parse condition {part!r}")
            if c.group(4) is not None:
                conds.append((c.group(1), "between", (c.group(4), c.group(5))))
            else:
                value = c.group(3)
                value = value[1:-1] if value.startswith("'") else value
                conds.append((c.group(1), c.group(2), value))
    return {"fields": fields, "resource": m.group(2), "where": conds, "limit": int(m.group(4)) if m.group(4) else None}


class GoogleAdsFake(FakeServer):
    def __init__(self, account: Account | None = None, *, stream_batch: int = 2, latency: float = 0.0):
        import grpc

        super().__init__(latency=latency)
        self.account = account or default_account()
        self.stream_batch = stream_batch
        self.failing_ops: set[str] = set()
        self._next_criterion = 950
        self._grpc = grpc
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._register()
        self.port = self.server.add_insecure_port(f"{HOST}:0")
        self.endpoint = f"{HOST}:{self.port}"
        self.server.start()

    def stop(self) -> None:
        self.server.stop(0)

    # ----------------------------------------------------------- scripting

    def fail_operation(self, resource_name: str) -> None:
        self.failing_ops.add(resource_name)

    # ----------------------------------------------------------- server plumbing

    def _register(self) -> None:
        grpc = self._grpc
        svc = f"{PKG}.services"
        handlers: dict[str, dict[str, Any]] = {
            f"{svc}.GoogleAdsService": {
                "Search": self._unary("google_ads_service", "SearchGoogleAdsRequest", self._search),
                "SearchStream": self._stream("google_ads_service", "SearchGoogleAdsStreamRequest", self._search_stream),
            },
            f"{svc}.CustomerService": {
                "ListAccessibleCustomers": self._unary(
                    "customer_service", "ListAccessibleCustomersRequest", self._list_customers
                ),
            },
            f"{svc}.CampaignService": {
                "MutateCampaigns": self._unary("campaign_service", "MutateCampaignsRequest", self._mutate_campaigns)
            },
            f"{svc}.AdGroupService": {
                "MutateAdGroups": self._unary("ad_group_service", "MutateAdGroupsRequest", self._mutate_ad_groups)
            },
            f"{svc}.AdGroupCriterionService": {
                "MutateAdGroupCriteria": self._unary(
                    "ad_group_criterion_service", "MutateAdGroupCriteriaRequest", self._mutate_criteria
                )
            },
            f"{svc}.CampaignBudgetService": {
                "MutateCampaignBudgets": self._unary(
                    "campaign_budget_service", "MutateCampaignBudgetsRequest", self._mutate_budgets
                )
            },
            f"{svc}.CampaignCriterionService": {
                "MutateCampaignCriteria": self._unary(
                    "campaign_criterion_service", "MutateCampaignCriteriaRequest", self._mutate_campaign_criteria
                )
            },
        }
        self.server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler(name, methods) for name, methods in handlers.items()]
        )

    def _req_class(self, module: str, name: str) -> Any:
        return _pb(f"services.types.{module}", name)

    def _unary(self, module: str, req_name: str, fn) -> Any:
        req_cls = self._req_class(module, req_name)

        def handle(request, context):
            self.delay()
            out = self._guard(req_name, request, context)
            if out is not None:
                return out
            return fn(request, context)

        return self._grpc.unary_unary_rpc_method_handler(
            handle, request_deserializer=req_cls.FromString, response_serializer=self._serialize
        )

    def _stream(self, module: str, req_name: str, fn) -> Any:
        req_cls = self._req_class(module, req_name)

        def handle(request, context):
            self.delay()
            out = self._guard(req_name, request, context)
            if out is not None:
                yield out
                return
            yield from fn(request, context)

        return self._grpc.unary_stream_rpc_method_handler(
            handle, request_deserializer=req_cls.FromString, response_serializer=self._serialize
        )

    @staticmethod
    def _serialize(msg: Any) -> bytes:
        return msg if isinstance(msg, bytes) else msg.SerializeToString()

    def _abort(self, context, code, error_field: str, error_name: str, message: str, retry_seconds: int | None = None):
        failure = _pb("errors.types.errors", "GoogleAdsFailure")()
        err = failure.errors.add()
        enum_field = err.error_code.DESCRIPTOR.fields_by_name[error_field]
        setattr(err.error_code, error_field, enum_field.enum_type.values_by_name[error_name].number)
        err.message = message
        if retry_seconds is not None:
            err.details.quota_error_details.retry_delay.seconds = retry_seconds
            err.details.quota_error_details.rate_name = "Requests per developer token per day"
        context.abort_with_status(_Status(code, message, ((FAILURE_KEY, failure.SerializeToString()),)))

    def _guard(self, req_name: str, request: Any, context) -> Any:
        """Auth, faults and the customer id, before any handler; returns bytes for a malformed reply."""
        grpc = self._grpc
        md = dict(context.invocation_metadata())
        fault = self.record(req_name, request)
        if md.get("authorization") != f"Bearer {TOKEN}" or not md.get("developer-token"):
            self._abort(
                context, grpc.StatusCode.UNAUTHENTICATED, "authentication_error", "AUTHENTICATION_ERROR", "bad token"
            )
        if fault is not None:
            if fault == "quota":
                self._abort(
                    context,
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    "quota_error",
                    "RESOURCE_EXHAUSTED",
                    "Too many requests. Retry in 7 seconds.",
                    retry_seconds=7,
                )
            if fault == "unavailable":
                context.abort(grpc.StatusCode.UNAVAILABLE, "The service is currently unavailable.")
            if fault == "auth":
                self._abort(
                    context,
                    grpc.StatusCode.UNAUTHENTICATED,
                    "authentication_error",
                    "OAUTH_TOKEN_EXPIRED",
                    "Authentication of the request failed.",
                )
            if fault == "invalid_grant":
                # what the client sees when google-auth cannot refresh the token in gRPC's metadata plugin
                context.abort(
                    grpc.StatusCode.UNAVAILABLE,
                    "Getting metadata from plugin failed with error: ('invalid_grant: Token has been expired or "
                    "revoked.', {'error': 'invalid_grant', 'error_description': 'Token has been expired or revoked.'})",
                )
            if fault == "permanent":
                self._abort(
                    context, grpc.StatusCode.INVALID_ARGUMENT, "request_error", "INVALID_INPUT", "The input is invalid."
                )
            if fault == "malformed":
                return b"\xff\xff\xff\xff\x0f"
        customer = getattr(request, "customer_id", None)
        if customer is not None and customer != self.account.customer_id:
            self._abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "request_error",
                "INVALID_CUSTOMER_ID",
                "Invalid customer ID.",
            )
        return None

    # ----------------------------------------------------------- GAQL

    def _rows(self, resource: str) -> list[dict[str, Any]]:
        a, c = self.account, self.account.customer_id
        out: list[dict[str, Any]] = []

        def camp(cid: str) -> dict[str, Any]:
            x = a.campaigns[cid]
            return {
                "campaign.id": int(cid),
                "campaign.resource_name": f"customers/{c}/campaigns/{cid}",
                "campaign.name": x["name"],
                "campaign.status": x["status"],
                "campaign.bidding_strategy_type": x["bidding"],
                "campaign.campaign_budget": f"customers/{c}/campaignBudgets/{x['budget']}",
                "campaign_budget.amount_micros": a.budgets[x["budget"]],
                "campaign_budget.explicitly_shared": "TRUE" if x["budget"] in a.shared_budgets else "FALSE",
            }

        def group(gid: str) -> dict[str, Any]:
            g = a.ad_groups[gid]
            return {
                **camp(g["campaign"]),
                "ad_group.id": int(gid),
                "ad_group.name": g["name"],
                "ad_group.status": g["status"],
                "ad_group.cpc_bid_micros": g["cpc"],
            }

        def crit(kid: str) -> dict[str, Any]:
            gid, cr = kid.split("~")
            k = a.keywords[kid]
            return {
                **group(gid),
                "ad_group_criterion.criterion_id": int(cr),
                "ad_group_criterion.resource_name": f"customers/{c}/adGroupCriteria/{kid}",
                "ad_group_criterion.keyword.text": k["text"],
                "ad_group_criterion.keyword.match_type": k["match"],
                "ad_group_criterion.status": k["status"],
                "ad_group_criterion.cpc_bid_micros": k["cpc"],
                "ad_group_criterion.type": "KEYWORD",
                "ad_group_criterion.negative": "FALSE",
            }

        if resource == "customer":
            out = [{"customer.id": int(c), "customer.descriptive_name": a.name}]
        elif resource == "campaign":
            out = [camp(cid) for cid in a.campaigns]
        elif resource == "campaign_label":
            out = [{**camp(cid), "label.name": name} for cid, name in a.labels]
        elif resource == "ad_group":
            out = [group(gid) for gid in a.ad_groups]
        elif resource == "ad_group_criterion" or resource == "keyword_view":
            out = [crit(kid) for kid in a.keywords]
        elif resource == "search_term_view":
            out = [
                {**group(gid), "search_term_view.search_term": term, "search_term_view.status": "NONE"}
                for gid, term in a.search_terms
            ]
        elif resource == "campaign_criterion":
            for key, n in a.negatives.items():
                cid, cr = key.split("~")
                out.append(
                    {
                        **camp(cid),
                        "campaign_criterion.resource_name": f"customers/{c}/campaignCriteria/{key}",
                        "campaign_criterion.criterion_id": int(cr),
                        "campaign_criterion.keyword.text": n["text"],
                        "campaign_criterion.keyword.match_type": n["match"],
                        "campaign_criterion.negative": "TRUE",
                        "campaign_criterion.type": "KEYWORD",
                    }
                )
        else:
            raise GaqlError(f"resource {resource} is not in the fake")
        return out

    def _query(self, query: str) -> list[Any]:
        q = parse_gaql(query)
        rows = self._rows(q["resource"])
        uses_date = any(f == "segments.date" for f in q["fields"]) or any(c[0] == "segments.date" for c in q["where"])
        if uses_date:
            seeded = []
            for i, r in enumerate(rows):
                seed = (i + 1) * 3 + len(q["resource"])
                base = {k: v for k, v in r.items()}
                seeded.extend({**base, "segments.date": d.isoformat(), **_metrics(seed, d)} for d in self.account.days)
            rows = seeded
        for fname, op, value in q["where"]:
            rows = [r for r in rows if self._match(r, fname, op, value)]
        if q["limit"] is not None:
            rows = rows[: q["limit"]]
        row_cls = _pb("services.types.google_ads_service", "GoogleAdsRow")
        out = []
        for r in rows:
            msg = row_cls()
            for fname in q["fields"]:
                if fname not in r:
                    raise GaqlError(f"field {fname} is not selectable from {q['resource']} in the fake")
                _set_path(msg, fname, r[fname])
            out.append(msg)
        return out

    @staticmethod
    def _match(row: dict[str, Any], fname: str, op: str, value: Any) -> bool:
        if fname not in row:
            raise GaqlError(f"unknown field {fname}")
        have = row[fname]
        if op == "between":
            return value[0] <= have <= value[1]
        same = str(have) == str(value)
        return same if op == "=" else not same

    def _search(self, request, context):
        resp = _pb("services.types.google_ads_service", "SearchGoogleAdsResponse")()
        try:
            resp.results.extend(self._query(request.query))
        except GaqlError as exc:
            self._abort(
                context, self._grpc.StatusCode.INVALID_ARGUMENT, "query_error", "UNEXPECTED_END_OF_QUERY", str(exc)
            )
        return resp

    def _search_stream(self, request, context):
        try:
            rows = self._query(request.query)
        except GaqlError as exc:
            self._abort(
                context, self._grpc.StatusCode.INVALID_ARGUMENT, "query_error", "UNEXPECTED_END_OF_QUERY", str(exc)
            )
        resp_cls = _pb("services.types.google_ads_service", "SearchGoogleAdsStreamResponse")
        for i in range(0, max(len(rows), 1), self.stream_batch):
            resp = resp_cls()
            resp.results.extend(rows[i : i + self.stream_batch])
            resp.request_id = f"fake-{i}"
            yield resp

    def _list_customers(self, request, context):
        resp = _pb("services.types.customer_service", "ListAccessibleCustomersResponse")()
        resp.resource_names.append(f"customers/{self.account.customer_id}")
        return resp

    # ----------------------------------------------------------- mutates

    def _mutate(self, request, context, module: str, resp_name: str, result_name: str, apply) -> Any:
        resp = _pb(f"services.types.{module}", resp_name)()
        failure = _pb("errors.types.errors", "GoogleAdsFailure")()
        for i, op in enumerate(request.operations):
            result = _pb(f"services.types.{module}", result_name)()
            which = op.WhichOneof("operation")
            rn = op.remove if which == "remove" else getattr(op, which).resource_name
            try:
                if rn in self.failing_ops:
                    raise ValueError("FIELD_HAS_SUBFIELDS: the fake was told to fail this operation")
                result.resource_name = apply(op, which)
            except (KeyError, ValueError) as exc:
                if not request.partial_failure:
                    self._abort(
                        context, self._grpc.StatusCode.INVALID_ARGUMENT, "mutate_error", "RESOURCE_NOT_FOUND", str(exc)
                    )
                err = failure.errors.add()
                err.error_code.mutate_error = (
                    err.error_code.DESCRIPTOR.fields_by_name["mutate_error"]
                    .enum_type.values_by_name["RESOURCE_NOT_FOUND"]
                    .number
                )
                err.message = str(exc).strip("'\"")
                el = err.location.field_path_elements.add()
                el.field_name = "operations"
                el.index = i
                resp.results.add()  # an empty result at the failed operation's index
                continue
            resp.results.append(result)
        if failure.errors:
            resp.partial_failure_error.code = 3
            resp.partial_failure_error.message = (
                "Multiple errors in 'details'. First error: " + failure.errors[0].message
            )
            resp.partial_failure_error.details.add().Pack(failure)
        return resp

    def _id(self, rn: str, kind: str) -> str:
        prefix = f"customers/{self.account.customer_id}/{kind}/"
        if not rn.startswith(prefix):
            raise ValueError(f"bad resource name {rn}")
        return rn[len(prefix) :]

    @staticmethod
    def _enum(msg: Any, fname: str) -> str:
        return msg.DESCRIPTOR.fields_by_name[fname].enum_type.values_by_number[getattr(msg, fname)].name

    def _update(self, op: Any, which: str, target: dict, fields: dict[str, str]) -> None:
        if which != "update":
            raise ValueError(f"the fake only updates here, not {which}")
        for path in op.update_mask.paths:
            if path not in fields:
                raise ValueError(f"field {path} is not mutable in the fake")
            if path == "status":
                value = self._enum(op.update, "status")
                if value not in ("ENABLED", "PAUSED"):
                    raise ValueError(f"bad status {value}")
            else:
                value = getattr(op.update, path)
            target[fields[path]] = value

    def billable_unit_micros(self) -> int:
        """The smallest amount the account's currency bills (whole yen for JPY), in micros."""
        return {"JPY": 1_000_000, "KRW": 1_000_000}.get(self.account.currency_code, 10_000)

    def _mutate_campaigns(self, request, context):
        def apply(op, which):
            rn = op.update.resource_name
            self._update(op, which, self.account.campaigns[self._id(rn, "campaigns")], {"status": "status"})
            return rn

        return self._mutate(
            request, context, "campaign_service", "MutateCampaignsResponse", "MutateCampaignResult", apply
        )

    def _mutate_ad_groups(self, request, context):
        def apply(op, which):
            rn = op.update.resource_name
            target = self.account.ad_groups[self._id(rn, "adGroups")]
            self._update(op, which, target, {"status": "status", "cpc_bid_micros": "cpc"})
            return rn

        return self._mutate(
            request, context, "ad_group_service", "MutateAdGroupsResponse", "MutateAdGroupResult", apply
        )

    def _mutate_criteria(self, request, context):
        def apply(op, which):
            rn = op.update.resource_name
            target = self.account.keywords[self._id(rn, "adGroupCriteria")]
            self._update(op, which, target, {"status": "status", "cpc_bid_micros": "cpc"})
            return rn

        return self._mutate(
            request,
            context,
            "ad_group_criterion_service",
            "MutateAdGroupCriteriaResponse",
            "MutateAdGroupCriterionResult",
            apply,
        )

    def _mutate_budgets(self, request, context):
        def apply(op, which):
            rn = op.update.resource_name
            bid = self._id(rn, "campaignBudgets")
            if bid not in self.account.budgets:
                raise KeyError(rn)
            box = {"amount": self.account.budgets[bid]}
            self._update(op, which, box, {"amount_micros": "amount"})
            if box["amount"] % self.billable_unit_micros():
                raise ValueError("NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT")
            self.account.budgets[bid] = box["amount"]
            return rn

        return self._mutate(
            request,
            context,
            "campaign_budget_service",
            "MutateCampaignBudgetsResponse",
            "MutateCampaignBudgetResult",
            apply,
        )

    def _mutate_campaign_criteria(self, request, context):
        def apply(op, which):
            if which == "remove":
                key = self._id(op.remove, "campaignCriteria")
                del self.account.negatives[key]
                return op.remove
            if which != "create":
                raise ValueError("the fake only creates and removes campaign criteria")
            cc = op.create
            cid = self._id(cc.campaign, "campaigns")
            if cid not in self.account.campaigns or not cc.negative or not cc.keyword.text:
                raise ValueError(f"bad negative keyword for {cc.campaign}")
            self._next_criterion += 1
            key = f"{cid}~{self._next_criterion}"
            self.account.negatives[key] = {"text": cc.keyword.text, "match": self._enum(cc.keyword, "match_type")}
            return f"customers/{self.account.customer_id}/campaignCriteria/{key}"

        return self._mutate(
            request,
            context,
            "campaign_criterion_service",
            "MutateCampaignCriteriaResponse",
            "MutateCampaignCriterionResult",
            apply,
        )


def _set_path(msg: Any, path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        msg = getattr(msg, _pb_name(msg, part))
    name = _pb_name(msg, parts[-1])
    fd = msg.DESCRIPTOR.fields_by_name[name]
    if fd.enum_type is not None and isinstance(value, str):
        value = fd.enum_type.values_by_name[value].number
    elif fd.type == fd.TYPE_BOOL and isinstance(value, str):
        value = value == "TRUE"
    setattr(msg, name, value)


def _pb_name(msg: Any, name: str) -> str:
    return name if name in msg.DESCRIPTOR.fields_by_name else name + "_"


class _Status:
    """A grpc.Status for context.abort_with_status (code, details, trailing_metadata)."""

    def __init__(self, code, details: str, trailing_metadata):
        self.code = code
        self.details = details
        self.trailing_metadata = trailing_metadata


class ContractHarness:
    """The contract suite's handle on this fake (tests/contract/__init__.py)."""

    platform = "google"
    faults = ("auth", "rate_limit", "transient", "permanent")
    DEV_TOKEN = "dev-token-SENTINEL-4242"

    def __init__(self, tmp_path, monkeypatch) -> None:
        self.fake = GoogleAdsFake()
        self.secrets = [self.DEV_TOKEN, TOKEN, "client-secret-SENTINEL-77", "refresh-SENTINEL-99"]
        monkeypatch.setenv("GOOGLE_ADS_DEVELOPER_TOKEN", self.DEV_TOKEN)
        monkeypatch.setenv("GOOGLE_ADS_CLIENT_ID", "client-id")
        monkeypatch.setenv("GOOGLE_ADS_CLIENT_SECRET", "client-secret-SENTINEL-77")
        monkeypatch.setenv("GOOGLE_ADS_REFRESH_TOKEN", "refresh-SENTINEL-99")
        monkeypatch.setenv("GOOGLE_ADS_ACCESS_TOKEN", TOKEN)
        self._adapters: list[Any] = []

    def adapter(self, currency: str = "USD") -> Any:
        from platforms.adapter import Account
        from platforms.google.adapter import GoogleAdsAdapter

        account = Account("google", "123-456-7890", currency=currency, endpoint=f"http://{self.fake.endpoint}")
        self._adapters.append(GoogleAdsAdapter(account))
        return self._adapters[-1]

    def _key(self, level: str, entity_id: str) -> Any:
        from engine.core.execution import EntityKey

        return EntityKey("google", "123-456-7890", level, entity_id)

    def entity(self, action_type: str, level: str) -> Any:
        if level == "search_term":
            return self._key("search_term", "22~cheap widgets")
        if action_type == "enable":
            self.fake.account.ad_groups["21"]["status"] = "PAUSED"
            return self._key(level, {"campaign": "13", "ad_group": "21", "keyword": "22~33"}[level])
        return self._key(level, {"campaign": "12", "ad_group": "22", "keyword": "22~32"}[level])

    def negative(self, key: Any) -> dict[str, Any]:
        return {"text": key.entity_id.split("~", 1)[1], "match_type": "exact", "scope": "campaign"}

    def writes(self) -> int:
        return sum(1 for m in self.fake.methods_called() if m.startswith("Mutate"))

    def fail_next(self, kind: str) -> None:
        self.fake.fail_next({"rate_limit": "quota", "transient": "unavailable"}.get(kind, kind))

    def fail_in_batch(self, key: Any) -> None:
        _, _, rn = self.adapter()._resource(key)
        self.fake.fail_operation(rn)

    def use_jpy(self) -> tuple[Any, str]:
        self.fake.account.currency_code = "JPY"
        self.fake.account.budgets["502"] = 5_000_000_000
        return self._key("campaign", "12"), "daily_budget"

    def wire(self, key: Any, attribute: str) -> Any:
        return self.fake.account.budgets[self.fake.account.campaigns[key.entity_id]["budget"]]

    def close(self) -> None:
        for adapter in self._adapters:
            adapter.close()
        self.fake.stop()
