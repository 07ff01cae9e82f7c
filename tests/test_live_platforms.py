"""Against the real platforms: only with real credentials in the environment.

Marked `live`; without the credentials each test is skipped with the reason shown. They
only read (connections and a 3-day sync): nothing is ever changed on a real account.
"""

from __future__ import annotations

import os
import shutil
from datetime import date, timedelta

import pytest

from platforms import get_platform
from tests.helpers.cli import REPO, run

LIVE = {
    "google": "GOOGLE_ADS_CUSTOMER_ID",
    "linkedin": "LINKEDIN_AD_ACCOUNT_ID",
    "meta": "META_AD_ACCOUNT_ID",
    "tiktok": "TIKTOK_ADVERTISER_ID",
    "shopify": "SHOPIFY_STORE",  # the shop domain (rulerun.yaml's account id); read only here
}


def _require(platform: str) -> str:
    names = list(dict.fromkeys([*get_platform(platform).credentials, LIVE[platform]]))
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.skip(f"live {platform} test needs real credentials: set {', '.join(missing)}")
    return os.environ[LIVE[platform]]


@pytest.mark.live
@pytest.mark.parametrize("platform", sorted(LIVE))
def test_connection_and_a_short_sync_against_the_real_api(platform, tmp_path):
    account = _require(platform)
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    (tmp_path / "rulerun.yaml").write_text(f"platforms:\n  {platform}:\n    accounts:\n      - id: '{account}'\n")
    connected = run("connections", "--rules", str(tmp_path / "rules"), cwd=tmp_path)
    assert connected.returncode == 0, connected.stdout + connected.stderr
    since = (date.today() - timedelta(days=3)).isoformat()
    synced = run("sync", "--rules", str(tmp_path / "rules"), "--platform", platform, "--since", since, cwd=tmp_path)
    assert synced.returncode == 0, synced.stdout + synced.stderr
