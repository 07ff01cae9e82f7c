"""Google Ads: one customer account read and changed through the google-ads SDK (gRPC, GAQL).

Reads (`fetch`) go through `GoogleAdsService.SearchStream`; writes through the Mutate
services with `partial_failure=True` and update masks. Entity ids: campaigns and ad groups
by their numeric id; keywords as ``"{ad_group_id}~{criterion_id}"`` (the id part of their
resource name); search terms as ``"{ad_group_id}~{search term}"``.

Credentials come from GOOGLE_ADS_DEVELOPER_TOKEN, GOOGLE_ADS_CLIENT_ID,
GOOGLE_ADS_CLIENT_SECRET, GOOGLE_ADS_REFRESH_TOKEN and GOOGLE_ADS_LOGIN_CUSTOMER_ID; a
`credentials=` keyword (google.auth credentials) replaces the OAuth refresh-token flow, and
`insecure=True` uses a plaintext channel (tests against a local fake only). The SDK is
imported inside methods, never at module level.

A token issued elsewhere can stand in for the OAuth refresh credentials: set
GOOGLE_ADS_ACCESS_TOKEN (it is used as given, never refreshed). An `endpoint` written
`http://host:port` in rulerun.yaml is reached over a plaintext channel (a local sandbox);
`host:port` or `https://host:port` over TLS.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import replace
from datetime import date
from typing import Any

from engine.core.catalog import Catalog
from engine.core.execution import AdapterError, AuthError, EntityKey, PermanentError, RateLimited, TransientError
from engine.core.status import EntityStatus
from platforms.adapter import Account, Fetched
from platforms.template import Change, LiveAdapter, Written

API_VERSION = "v26"
PLATFORM = "google"

STATUS_IN = {"ENABLED": EntityStatus.ACTIVE, "PAUSED": EntityStatus.PAUSED, "REMOVED": EntityStatus.REMOVED}
STATUS_OUT = {EntityStatus.ACTIVE: "ENABLED", EntityStatus.PAUSED: "PAUSED"}
MATCH_IN = {"EXACT": "exact", "PHRASE": "phrase", "BROAD": "broad"}
MATCH_OUT = {"exact": "EXACT", "phrase": "PHRASE"}

# Metric fields requested per level (the names of the field mapping in platforms/google/catalog.yaml). Video views
# (metrics.video_trueview_views in API v26) exist for campaigns and ad groups only.
_METRICS = "metrics.cost_micros, metrics.impressions, metrics.clicks, metrics.conversions, metrics.conversions_value"
_VIDEO = "metrics.video_trueview_views"

_AUTH_ERRORS = ("authentication_error", "authorization_error")


def _enum_name(msg: Any, field: str) -> str:
    """The name of an enum field's value on a protobuf message."""
    value = getattr(msg, field)
    fd = msg.DESCRIPTOR.fields_by_name[field]
    ev = fd.enum_type.values_by_number.get(value)
    return ev.name if ev is not None else str(value)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _auth_interceptor(credentials: Any) -> Any:
    """Adds the OAuth bearer header on a plaintext channel (gRPC call credentials need TLS)."""
    import google.auth.transport.requests
    import grpc
    from google.ads.googleads.interceptors import Interceptor

    class AuthInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
        def _details(self, details: Any) -> Any:
            headers: dict[str, str] = {}
            credentials.before_request(google.auth.transport.requests.Request(), "POST", details.method, headers)
            metadata = list(details.metadata or []) + [(k.lower(), v) for k, v in headers.items()]
            return Interceptor.get_client_call_details_instance(
                details.method, details.timeout, metadata, details.credentials, getattr(details, "wait_for_ready", None)
            )

        def intercept_unary_unary(self, continuation, details, request):
            return continuation(self._details(details), request)

        def intercept_unary_stream(self, continuation, details, request):
            return continuation(self._details(details), request)

    return AuthInterceptor()


class GoogleAdsAdapter(LiveAdapter):
    """Google Ads customer account over the google-ads SDK, API v26.

    Levels: campaign (status, daily budget through its campaign budget), ad_group and
    keyword (status, CPC bid), search_term (campaign-level negative keyword, exact or
    phrase). A campaign budget may be shared by several campaigns
    (`campaign_budget.explicitly_shared`): its campaigns read `shared_budget` and
    `budget_campaigns`, and a change to it names every campaign it serves. Errors: quota ->
    RateLimited (retry_after from the quota error's retry delay), UNAVAILABLE /
    DEADLINE_EXCEEDED -> TransientError, authentication / authorization and a refresh
    token Google refuses (invalid_grant) -> AuthError, anything else PermanentError. Every
    gRPC call (each query, each mutate) is retried on its own under the retry policy.
    `rulerun apply` sends up to `max_batch` changes of an account in one batch: one mutate
    call per service.
    """

    # Google takes up to 10,000 operations per mutate request; 100 keeps what one call
    # leaves in doubt after a crash, and what runs after an emergency stop, small.
    max_batch = 100

    def __init__(
        self,
        account: Account,
        catalog: Catalog | None = None,
        *,
        credentials: Any = None,
        insecure: bool = False,
    ):
        endpoint = account.endpoint or ""
        if endpoint.startswith("http://"):
            # a plaintext endpoint: a local sandbox or test server, never Google's own API
            account = replace(account, endpoint=endpoint.removeprefix("http://").rstrip("/"))
            insecure = True
        elif endpoint.startswith("https://"):
            account = replace(account, endpoint=endpoint.removeprefix("https://").rstrip("/"))
        super().__init__(account, catalog)
        self.customer_id = account.account_id.replace("-", "").strip()
        self._credentials = credentials
        self._insecure = insecure
        self._client: Any = None
        self._channel: Any = None
        self._services: dict[str, Any] = {}
        self.api_calls = 0

    # ------------------------------------------------------------------ plumbing

    def check_credentials(self) -> None:
        if self._credentials is not None or os.environ.get("GOOGLE_ADS_ACCESS_TOKEN"):
            # a token issued elsewhere (GOOGLE_ADS_ACCESS_TOKEN) replaces the OAuth refresh trio
            names = ["GOOGLE_ADS_DEVELOPER_TOKEN"]
        else:
            names = [
                "GOOGLE_ADS_DEVELOPER_TOKEN",
                "GOOGLE_ADS_CLIENT_ID",
                "GOOGLE_ADS_CLIENT_SECRET",
                "GOOGLE_ADS_REFRESH_TOKEN",
            ]
        missing = [name for name in names if not os.environ.get(name)]
        if missing:
            raise AuthError(
                f"missing credentials: set {', '.join(missing)}", platform=PLATFORM, account_id=self.account.account_id
            )

    def _get_client(self) -> Any:
        if self._client is None:
            self.check_credentials()
            from google.ads.googleads.client import GoogleAdsClient

            creds = self._credentials
            if creds is None and os.environ.get("GOOGLE_ADS_ACCESS_TOKEN"):
                from google.oauth2.credentials import Credentials

                creds = Credentials(token=os.environ["GOOGLE_ADS_ACCESS_TOKEN"])  # no refresh: used as given
            if creds is None:
                from google.oauth2.credentials import Credentials

                creds = Credentials(
                    token=None,
                    refresh_token=os.environ["GOOGLE_ADS_REFRESH_TOKEN"],
                    client_id=os.environ["GOOGLE_ADS_CLIENT_ID"],
                    client_secret=os.environ["GOOGLE_ADS_CLIENT_SECRET"],
                    token_uri="https://oauth2.googleapis.com/token",
                )
            login = (os.environ.get("GOOGLE_ADS_LOGIN_CUSTOMER_ID") or "").replace("-", "") or None
            self._client = GoogleAdsClient(
                creds,
                developer_token=os.environ["GOOGLE_ADS_DEVELOPER_TOKEN"],
                endpoint=self.account.endpoint,
                login_customer_id=login,
                version=API_VERSION,
            )
        return self._client

    def _service(self, name: str) -> Any:
        if name in self._services:
            return self._services[name]
        client = self._get_client()
        if not self._insecure:
            svc = client.get_service(name, version=API_VERSION)
        else:
            import grpc
            from google.ads.googleads import util
            from google.ads.googleads.interceptors import ExceptionInterceptor, MetadataInterceptor

            if not self.account.endpoint:
                raise self.error(PermanentError, "insecure=True needs an endpoint")
            if self._channel is None:
                self._channel = grpc.intercept_channel(
                    grpc.insecure_channel(self.account.endpoint),
                    _auth_interceptor(client.credentials),
                    MetadataInterceptor(client.developer_token, client.login_customer_id, None),
                    ExceptionInterceptor(API_VERSION, use_proto_plus=False),
                )
            module = __import__(
                f"google.ads.googleads.{API_VERSION}.services.services.{util.convert_upper_case_to_snake_case(name)}",
                fromlist=["x"],
            )
            cls = getattr(module, f"{name}Client")
            svc = cls(transport=cls.get_transport_class("grpc")(channel=self._channel))
        self._services[name] = svc
        return svc

    def _type(self, name: str) -> Any:
        return self._get_client().get_type(name, version=API_VERSION)

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        self._services.clear()

    def secrets(self) -> list[str]:
        token = os.environ.get("GOOGLE_ADS_ACCESS_TOKEN")
        return [*super().secrets(), *([token] if token else [])]

    def _call(self, fn, *args: Any, **kw: Any) -> Any:
        """One API call, each attempt counted, retried under the template's policy (a quota
        error waits the retry delay Google gives); the template maps its errors (`map_error`)."""

        def attempt() -> Any:
            self.api_calls += 1
            return fn(*args, **kw)

        return self.call(attempt)

    def map_error(self, exc: Exception) -> AdapterError | None:
        import grpc
        from google.ads.googleads.errors import GoogleAdsException
        from google.api_core import exceptions as core
        from google.auth.exceptions import RefreshError

        if isinstance(exc, RefreshError) or "invalid_grant" in str(exc):
            return _refused_refresh_token()

        code = None
        failure = None
        metadata: Any = ()
        rpc = None
        if isinstance(exc, GoogleAdsException):
            failure = exc.failure
            rpc = exc.error
        elif isinstance(exc, core.GoogleAPICallError):
            code = exc.grpc_status_code
            rpc = exc.response if isinstance(exc.response, grpc.RpcError) else None
        elif isinstance(exc, grpc.RpcError):
            rpc = exc
        else:
            return None
        if rpc is not None:
            try:
                code = code or rpc.code()
                metadata = rpc.trailing_metadata() or ()
            except Exception:
                pass
        if failure is None:
            failure = self._failure_from_metadata(metadata)
        elif not hasattr(failure, "WhichOneof"):  # a proto-plus wrapper: use the protobuf message
            failure = type(failure).pb(failure)
        kinds = [e.error_code.WhichOneof("error_code") for e in failure.errors] if failure is not None else []
        messages = [e.message for e in failure.errors if e.message] if failure is not None else []
        rpc_details = ""
        if rpc is not None and hasattr(rpc, "details"):
            try:
                rpc_details = rpc.details() or ""
            except Exception:
                rpc_details = ""
        if "invalid_grant" in rpc_details:
            # google-auth could not refresh the token inside gRPC's metadata plugin: gRPC calls it
            # UNAVAILABLE, but retrying never helps
            return _refused_refresh_token()
        status = code.name if code is not None else "unknown error"
        detail = "; ".join(messages) or (f"{status}: {rpc_details}" if rpc_details else status)
        if "quota_error" in kinds or code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            retry_after = None
            for e in failure.errors if failure is not None else []:
                if e.details.HasField("quota_error_details") and e.details.quota_error_details.HasField("retry_delay"):
                    d = e.details.quota_error_details.retry_delay
                    retry_after = d.seconds + d.nanos / 1e9
            return RateLimited(f"quota exhausted: {detail}", retry_after=retry_after)
        if any(k in _AUTH_ERRORS for k in kinds) or code in (
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.StatusCode.PERMISSION_DENIED,
        ):
            return AuthError(f"not authorized: {detail}")
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return TransientError(f"API unavailable ({code.name}): {detail}")
        return PermanentError(detail)

    def _failure_from_metadata(self, metadata: Any) -> Any:
        key = f"google.ads.googleads.{API_VERSION}.errors.googleadsfailure-bin"
        for k, v in metadata or ():
            if k == key:
                try:
                    cls = self._type("GoogleAdsFailure")
                    return type(cls).FromString(v)
                except Exception:
                    return None
        return None

    # ------------------------------------------------------------------ reads

    def _search(self, query: str) -> list[Any]:
        """All rows of a GAQL query through SearchStream (every streamed batch)."""
        svc = self._service("GoogleAdsService")

        def run() -> list[Any]:
            rows: list[Any] = []
            for batch in svc.search_stream(customer_id=self.customer_id, query=query):
                rows.extend(batch.results)
            return rows

        return self._call(run)

    def probe(self) -> str:
        svc = self._service("GoogleAdsService")
        resp = self._call(svc.search, request={"customer_id": self.customer_id, "query": _Q_CUSTOMER})
        for row in resp.results:
            return row.customer.descriptive_name or self.account.account_id
        raise self.error(PermanentError, "customer not visible to these credentials")

    def _key(self, level: str, entity_id: str, parent_id: str | None) -> dict[str, Any]:
        return {
            "platform": PLATFORM,
            "account_id": self.account.account_id,
            "level": level,
            "entity_id": entity_id,
            "parent_id": parent_id,
        }

    def read(self, date_from: date, date_to: date) -> Fetched:
        self.api_calls = 0
        cur = self.account.currency
        entities: list[dict[str, Any]] = []
        labels: dict[str, list[str]] = defaultdict(list)
        for row in self._search(_Q_CAMPAIGN_LABELS):
            labels[str(row.campaign.id)].append(row.label.name)
        brand: dict[str, bool] = {}
        campaign_rows = self._search(_Q_CAMPAIGNS)
        on_budget: dict[str, list[str]] = defaultdict(list)  # budget -> the campaigns it serves
        for row in campaign_rows:
            on_budget[row.campaign.campaign_budget].append(str(row.campaign.id))
        for row in campaign_rows:
            c = row.campaign
            cid = str(c.id)
            if not c.id:
                raise ValueError("campaign row without campaign.id")
            is_brand = "brand" in c.name.lower() or any("brand" in lb.lower() for lb in labels[cid])
            brand[cid] = is_brand
            ent = self._key("campaign", cid, None)
            budget_name, budget = self.attribute("campaign_budget.amount_micros", row.campaign_budget.amount_micros)
            ent.update(
                name=c.name,
                status=STATUS_IN.get(_enum_name(c, "status"), _enum_name(c, "status").lower()),
                bidding_strategy=_enum_name(c, "bidding_strategy_type").lower(),
                labels=sorted(labels[cid]),
                is_brand=is_brand,
                currency=cur,
                shared_budget=bool(row.campaign_budget.explicitly_shared),
                budget_campaigns=(
                    sorted(on_budget[c.campaign_budget]) if row.campaign_budget.explicitly_shared else None
                ),
                **{budget_name: budget if row.campaign_budget.amount_micros else None},
            )
            entities.append(ent)
        ad_group_campaign: dict[str, str] = {}
        for row in self._search(_Q_AD_GROUPS):
            g = row.ad_group
            gid, cid = str(g.id), str(row.campaign.id)
            ad_group_campaign[gid] = cid
            ent = self._key("ad_group", gid, cid)
            bid_name, bid = self.attribute("ad_group.cpc_bid_micros", g.cpc_bid_micros)
            ent.update(
                name=g.name,
                status=STATUS_IN.get(_enum_name(g, "status"), _enum_name(g, "status").lower()),
                is_brand=brand.get(cid, False),
                currency=cur,
                **{bid_name: bid if g.cpc_bid_micros else None},
            )
            entities.append(ent)
        for row in self._search(_Q_KEYWORDS):
            k = row.ad_group_criterion
            gid, cid = str(row.ad_group.id), str(row.campaign.id)
            # keyword bids use the same micros unit as ad group bids (catalog maps ad_group.cpc_bid_micros)
            bid_name, bid = self.attribute("ad_group.cpc_bid_micros", k.cpc_bid_micros)
            ent = self._key("keyword", f"{gid}~{k.criterion_id}", gid)
            ent.update(
                name=k.keyword.text,
                status=STATUS_IN.get(_enum_name(k, "status"), _enum_name(k, "status").lower()),
                match_type=MATCH_IN.get(_enum_name(k.keyword, "match_type"), "broad"),
                is_brand=brand.get(cid, False),
                currency=cur,
                **{bid_name: bid if k.cpc_bid_micros else None},
            )
            entities.append(ent)

        between = f"segments.date BETWEEN '{date_from.isoformat()}' AND '{date_to.isoformat()}'"
        metrics: list[dict[str, Any]] = []
        search_terms: dict[str, dict[str, Any]] = {}

        def add(level: str, entity_id: str, row: Any, video: bool) -> None:
            m = row.metrics
            raw = {
                "metrics.cost_micros": m.cost_micros,
                "metrics.impressions": m.impressions,
                "metrics.clicks": m.clicks,
                "metrics.conversions": m.conversions,
                "metrics.conversions_value": m.conversions_value,
            }
            if video:
                raw[_VIDEO] = m.video_trueview_views
            rec = {
                "date": date.fromisoformat(row.segments.date),
                "platform": PLATFORM,
                "account_id": self.account.account_id,
                "level": level,
                "entity_id": entity_id,
            }
            rec.update(self.metrics(raw))
            metrics.append(rec)

        for row in self._search(
            f"SELECT campaign.id, segments.date, {_METRICS}, {_VIDEO} FROM campaign WHERE {between}"
        ):
            add("campaign", str(row.campaign.id), row, True)
        for row in self._search(
            f"SELECT ad_group.id, segments.date, {_METRICS}, {_VIDEO} FROM ad_group WHERE {between}"
        ):
            add("ad_group", str(row.ad_group.id), row, True)
        for row in self._search(
            f"SELECT ad_group.id, ad_group_criterion.criterion_id, segments.date, {_METRICS} FROM keyword_view "
            f"WHERE {between}"
        ):
            add("keyword", f"{row.ad_group.id}~{row.ad_group_criterion.criterion_id}", row, False)
        for row in self._search(
            f"SELECT campaign.id, ad_group.id, search_term_view.search_term, search_term_view.status, segments.date, "
            f"{_METRICS} FROM search_term_view WHERE {between}"
        ):
            term = row.search_term_view.search_term
            gid, cid = str(row.ad_group.id), str(row.campaign.id)
            if not term:
                raise ValueError("search term row without search_term_view.search_term")
            eid = f"{gid}~{term}"
            add("search_term", eid, row, False)
            if eid not in search_terms:
                ent = self._key("search_term", eid, gid)
                ent.update(name=term, is_brand=brand.get(cid, False), currency=cur)
                search_terms[eid] = ent
        entities.extend(search_terms.values())
        return Fetched(entities=entities, metrics=metrics, api_calls=self.api_calls)

    # ------------------------------------------------------------------ state

    def _one(self, query: str, key: EntityKey) -> Any:
        rows = self._search(query)
        if not rows:
            raise self.error(PermanentError, f"unknown {key.level} {key.entity_id}")
        return rows[0]

    @staticmethod
    def _split(key: EntityKey) -> tuple[str, str]:
        gid, sep, rest = key.entity_id.partition("~")
        if not sep or not gid.isdigit() or not rest:
            raise PermanentError(f"bad {key.level} id {key.entity_id!r}: expected '<ad_group_id>~<id>'")
        return gid, rest

    def _check_id(self, key: EntityKey) -> str:
        if not key.entity_id.isdigit():
            raise self.error(PermanentError, f"bad {key.level} id {key.entity_id!r}")
        return key.entity_id

    def _campaign_of(self, key: EntityKey) -> str:
        gid, _ = self._split(key)
        row = self._one(f"SELECT campaign.id FROM ad_group WHERE ad_group.id = {gid}", key)
        return str(row.campaign.id)

    def _negatives(self, campaign_id: str) -> list[dict[str, Any]]:
        out = []
        for row in self._search(
            "SELECT campaign_criterion.resource_name, campaign_criterion.keyword.text, "
            "campaign_criterion.keyword.match_type FROM campaign_criterion "
            f"WHERE campaign.id = {campaign_id} AND campaign_criterion.negative = TRUE "
            "AND campaign_criterion.type = 'KEYWORD'"
        ):
            cc = row.campaign_criterion
            out.append(
                {
                    "text": cc.keyword.text,
                    "match_type": MATCH_IN.get(_enum_name(cc.keyword, "match_type"), "broad"),
                    "scope": "campaign",
                    "resource_name": cc.resource_name,
                }
            )
        return out

    def state(self, key: EntityKey) -> dict[str, Any]:
        if key.level == "campaign":
            cid = self._check_id(key)
            row = self._one(
                "SELECT campaign.id, campaign.status, campaign.campaign_budget, campaign_budget.amount_micros "
                f"FROM campaign WHERE campaign.id = {cid}",
                key,
            )
            _, budget = self.attribute("campaign_budget.amount_micros", row.campaign_budget.amount_micros)
            negs = [{k: v for k, v in n.items() if k != "resource_name"} for n in self._negatives(cid)]
            return {
                "status": STATUS_IN.get(_enum_name(row.campaign, "status"), "unknown"),
                "daily_budget": budget if row.campaign_budget.amount_micros else None,
                "negative_keywords": negs,
            }
        if key.level == "ad_group":
            gid = self._check_id(key)
            row = self._one(
                f"SELECT ad_group.id, ad_group.status, ad_group.cpc_bid_micros FROM ad_group WHERE ad_group.id = {gid}",
                key,
            )
            _, bid = self.attribute("ad_group.cpc_bid_micros", row.ad_group.cpc_bid_micros)
            return {
                "status": STATUS_IN.get(_enum_name(row.ad_group, "status"), "unknown"),
                "bid": bid if row.ad_group.cpc_bid_micros else None,
            }
        if key.level == "keyword":
            gid, crit = self._split(key)
            row = self._one(
                "SELECT ad_group_criterion.criterion_id, ad_group_criterion.status, ad_group_criterion.cpc_bid_micros "
                f"FROM ad_group_criterion WHERE ad_group.id = {gid} AND ad_group_criterion.criterion_id = {crit}",
                key,
            )
            k = row.ad_group_criterion
            _, bid = self.attribute("ad_group.cpc_bid_micros", k.cpc_bid_micros)
            return {
                "status": STATUS_IN.get(_enum_name(k, "status"), "unknown"),
                "bid": bid if k.cpc_bid_micros else None,
            }
        if key.level == "search_term":
            cid = self._campaign_of(key)
            negs = [{k: v for k, v in n.items() if k != "resource_name"} for n in self._negatives(cid)]
            return {"negative_keywords": negs}
        raise self.error(PermanentError, f"level {key.level} is not supported")

    # ------------------------------------------------------------------ writes

    def write(self, change: Change) -> Written:
        out = self.write_batch([change])[0]
        if isinstance(out, AdapterError):
            raise out
        return out

    def write_batch(self, changes: list[Change]) -> list[Written | AdapterError]:
        """One mutate call per service, `partial_failure=True`: an error per failed operation."""
        out: list[Written | AdapterError | None] = [None] * len(changes)
        groups: dict[str, list[tuple[int, Any, Any]]] = defaultdict(list)
        for i, change in enumerate(changes):
            try:
                service, op, finish = self._operation(change)
            except PermanentError as exc:
                if isinstance(exc, AuthError):
                    raise
                out[i] = exc
                continue
            groups[service].append((i, op, finish))
        for service, items in groups.items():
            try:
                with self.calling(f"mutating through {service}"):
                    results, errors = self._mutate(service, [op for _, op, _ in items])
            except AdapterError as exc:  # this service's call failed whole: its changes, not the others'
                if isinstance(exc, AuthError):
                    raise
                for i, _, _ in items:
                    out[i] = exc
                continue
            for j, (i, _, finish) in enumerate(items):
                out[i] = self.error(PermanentError, errors[j]) if j in errors else finish(results[j])
        return [o for o in out if o is not None]

    _MUTATE = {
        "CampaignService": "mutate_campaigns",
        "AdGroupService": "mutate_ad_groups",
        "AdGroupCriterionService": "mutate_ad_group_criteria",
        "CampaignBudgetService": "mutate_campaign_budgets",
        "CampaignCriterionService": "mutate_campaign_criteria",
    }

    def _mutate(self, service: str, ops: list[Any]) -> tuple[list[Any], dict[int, str]]:
        svc = self._service(service)
        resp = self._call(
            getattr(svc, self._MUTATE[service]),
            request={"customer_id": self.customer_id, "operations": ops, "partial_failure": True},
        )
        errors: dict[int, str] = {}
        pf = resp.partial_failure_error
        if pf.code != 0 or pf.details:
            failure_cls = type(self._type("GoogleAdsFailure"))
            for detail in pf.details:
                failure = failure_cls()
                if not detail.Unpack(failure):
                    continue
                for err in failure.errors:
                    index = next(
                        (e.index for e in err.location.field_path_elements if e.field_name == "operations"), None
                    )
                    if index is None:
                        continue
                    errors[index] = "; ".join(filter(None, [errors.get(index), err.message or "operation failed"]))
            if not errors:  # a failure that names no operation fails them all
                errors = {i: pf.message or "operation failed" for i in range(len(ops))}
        results = list(resp.results)
        if len(results) < len(ops):
            raise self.error(PermanentError, f"malformed response: {len(results)} results for {len(ops)} operations")
        return results, errors

    def _operation(self, change: Change) -> tuple[str, Any, Any]:
        """(service, operation, finish(result) -> Written) for one change."""
        if change.attribute == "status":
            service, op_type, rn = self._resource(change.key)
            enum = getattr(self._get_client().enums, _STATUS_ENUM[change.key.level])
            op = self._update_op(op_type, rn, {"status": getattr(enum, STATUS_OUT[change.value])})
            return service, op, lambda result: Written({"resource_name": result.resource_name or rn})
        if change.attribute == "bid":
            service, op_type, rn = self._resource(change.key)
            op = self._update_op(op_type, rn, {"cpc_bid_micros": change.wire})
            return service, op, lambda result: Written({"resource_name": result.resource_name or rn})
        if change.attribute == "daily_budget":
            return self._budget_operation(change)
        if change.attribute == "negative_keyword":
            return self._negative_operation(change)
        raise self.error(PermanentError, f"cannot change {change.attribute} on a google {change.key.level}")

    def _resource(self, key: EntityKey) -> tuple[str, str, str]:
        """(service, operation type, resource name) of a campaign, ad group or keyword."""
        c = self.customer_id
        if key.level == "campaign":
            return "CampaignService", "CampaignOperation", f"customers/{c}/campaigns/{self._check_id(key)}"
        if key.level == "ad_group":
            return "AdGroupService", "AdGroupOperation", f"customers/{c}/adGroups/{self._check_id(key)}"
        if key.level == "keyword":
            gid, crit = self._split(key)
            return "AdGroupCriterionService", "AdGroupCriterionOperation", f"customers/{c}/adGroupCriteria/{gid}~{crit}"
        raise self.error(PermanentError, f"no status or bid on a google {key.level}")

    def _update_op(self, op_type: str, resource_name: str, values: dict[str, Any]) -> Any:
        op = self._type(op_type)
        for name, value in values.items():
            setattr(op.update, name, value)
        op.update.resource_name = resource_name
        op.update_mask.paths.extend(values.keys())
        return op

    def _budget_operation(self, change: Change) -> tuple[str, Any, Any]:
        key = change.key
        if key.level != "campaign":
            raise self.error(PermanentError, f"budgets live on campaigns, not on a {key.level}")
        cid = self._check_id(key)
        row = self._one(
            f"SELECT campaign.id, campaign.campaign_budget, campaign_budget.explicitly_shared FROM campaign "
            f"WHERE campaign.id = {cid}",
            key,
        )
        budget_rn = row.campaign.campaign_budget
        if not budget_rn:
            raise self.error(PermanentError, f"campaign {cid} has no campaign budget")
        # a shared budget serves several campaigns: the change (and its undo) names them all
        shared = self._budget_campaigns(budget_rn) if row.campaign_budget.explicitly_shared else []
        op = self._update_op("CampaignBudgetOperation", budget_rn, {"amount_micros": change.wire})
        detail = {"shared_budget_campaigns": shared} if shared else {}

        def finish(result: Any) -> Written:
            return Written({"resource_name": result.resource_name or budget_rn, **detail}, detail)

        return "CampaignBudgetService", op, finish

    def _budget_campaigns(self, budget_rn: str) -> list[str]:
        rows = self._search(f"SELECT campaign.id FROM campaign WHERE campaign.campaign_budget = {_quote(budget_rn)}")
        return sorted(str(r.campaign.id) for r in rows)

    def _campaign_for_negative(self, change: Change) -> str:
        key = change.key
        if change.params.get("campaign_id"):
            return str(change.params["campaign_id"])
        if key.level == "campaign":
            return self._check_id(key)
        if key.level in ("search_term", "keyword"):
            return self._campaign_of(key)
        raise self.error(PermanentError, f"cannot add a negative keyword for a {key.level}")

    def _negative_operation(self, change: Change) -> tuple[str, Any, Any]:
        spec = change.value if change.value is not None else change.current
        if spec["match_type"] not in MATCH_OUT:
            raise self.error(PermanentError, f"negative match type {spec['match_type']!r} is not supported")
        if spec["scope"] != "campaign":
            raise self.error(PermanentError, "only campaign-level negative keywords are supported")
        cid = self._campaign_for_negative(change)
        op = self._type("CampaignCriterionOperation")
        if change.value is None:  # remove the one the state showed
            rn = next(
                (
                    n["resource_name"]
                    for n in self._negatives(cid)
                    if n["text"].lower() == spec["text"].lower() and n["match_type"] == spec["match_type"]
                ),
                None,
            )
            if rn is None:
                raise self.error(PermanentError, f"negative keyword {spec['text']!r} is not on campaign {cid}")
            op.remove = rn
            return "CampaignCriterionService", op, lambda result: Written({"removed": result.resource_name or rn})
        cc = op.create
        cc.campaign = f"customers/{self.customer_id}/campaigns/{cid}"
        cc.negative = True
        cc.keyword.text = spec["text"]
        cc.keyword.match_type = getattr(self._get_client().enums.KeywordMatchTypeEnum, MATCH_OUT[spec["match_type"]])

        def finish(result: Any) -> Written:
            if not result.resource_name:
                raise self.error(PermanentError, "malformed response: no resource name for the new negative keyword")
            detail = {"resource_name": result.resource_name, "campaign_id": cid}
            return Written(detail, detail)

        return "CampaignCriterionService", op, finish


def _refused_refresh_token() -> AuthError:
    return AuthError(
        "Google refused the OAuth refresh token (invalid_grant: expired or revoked): "
        "set GOOGLE_ADS_REFRESH_TOKEN to a new refresh token"
    )


_STATUS_ENUM = {
    "campaign": "CampaignStatusEnum",
    "ad_group": "AdGroupStatusEnum",
    "keyword": "AdGroupCriterionStatusEnum",
}

_Q_CUSTOMER = "SELECT customer.id, customer.descriptive_name FROM customer LIMIT 1"
_Q_CAMPAIGN_LABELS = "SELECT campaign.id, label.name FROM campaign_label"
_Q_CAMPAIGNS = (
    "SELECT campaign.id, campaign.name, campaign.status, campaign.bidding_strategy_type, campaign.campaign_budget, "
    "campaign_budget.amount_micros, campaign_budget.explicitly_shared FROM campaign"
)
_Q_AD_GROUPS = "SELECT campaign.id, ad_group.id, ad_group.name, ad_group.status, ad_group.cpc_bid_micros FROM ad_group"
_Q_KEYWORDS = (
    "SELECT campaign.id, ad_group.id, ad_group_criterion.criterion_id, ad_group_criterion.keyword.text, "
    "ad_group_criterion.keyword.match_type, ad_group_criterion.status, ad_group_criterion.cpc_bid_micros "
    "FROM ad_group_criterion WHERE ad_group_criterion.type = 'KEYWORD' AND ad_group_criterion.negative = FALSE"
)
