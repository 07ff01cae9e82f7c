"""Stoplight Prism between the Pinterest adapter and its fake (tests/fakes/prism.py), on
tests/specs/pinterest-v5.openapi.yaml: `route(fake)`, `check()`, `reason()`, `active()`."""

from __future__ import annotations

from tests.fakes.prism import REPO, PrismRoute, required

SPEC = REPO / "tests" / "specs" / "pinterest-v5.openapi.yaml"
_ROUTE = PrismRoute("Pinterest", SPEC)

route, check, reason, active = _ROUTE.route, _ROUTE.check, _ROUTE.reason, _ROUTE.active
__all__ = ["SPEC", "active", "check", "reason", "required", "route"]
