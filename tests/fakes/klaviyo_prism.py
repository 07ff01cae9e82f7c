"""Stoplight Prism between the Klaviyo adapter and its fake (tests/fakes/prism.py), on the
official description tests/specs/klaviyo-stable.openapi.json.gz (revision 2026-07-15):
`route(fake)`, `check()`, `reason()`, `active()`."""

from __future__ import annotations

from tests.fakes.prism import REPO, PrismRoute, required

SPEC = REPO / "tests" / "specs" / "klaviyo-stable.openapi.json.gz"
_ROUTE = PrismRoute("Klaviyo", SPEC)

route, check, reason, active = _ROUTE.route, _ROUTE.check, _ROUTE.reason, _ROUTE.active
__all__ = ["SPEC", "active", "check", "reason", "required", "route"]
