"""The code base is ruff clean (the same check as `ruff check .`)."""

import subprocess
import sys

from tests.helpers.cli import REPO


def test_ruff_clean():
    res = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=REPO, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_no_sdk_in_core_imports():
    code = (
        "import sys, engine.rules.loader, engine.evaluation.evaluate, engine.cli.commands, platforms\n"
        "from platforms import all_platforms; all_platforms()\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('google', 'facebook_business', 'klaviyo_api', "
        "'shopify', 'redshift_connector', 'openapi_client')]\nprint(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
