"""Shared test configuration.

Hypothesis profiles: `ci` (default, a few hundred examples per property) and `nightly`
(many thousands): HYPOTHESIS_PROFILE=nightly pytest tests/test_expr_property.py
"""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("nightly", max_examples=20000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Keep every test that goes through a Prism proxy on one xdist worker: one Prism start per run."""
    for item in items:
        if item.get_closest_marker("prism"):
            item.add_marker(pytest.mark.xdist_group("prism"))
