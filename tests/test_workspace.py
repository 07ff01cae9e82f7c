"""rulerun.yaml beside the rules folder: state directory, action log URL by variable name, approval expiry."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from engine.core.errors import ValidationFailed
from engine.rules.workspace import Workspace
from tests.helpers.cli import REPO, run


def test_defaults_without_a_file(tmp_path):
    ws = Workspace.resolve(str(tmp_path / "rules"), None)
    assert ws.state_dir == tmp_path / ".rulerun" and ws.approval_ttl(None) == timedelta(hours=72)


def test_settings_from_the_file(tmp_path, monkeypatch):
    (tmp_path / "rulerun.yaml").write_text(
        "state_dir: var/state\naction_log:\n  url_env: TEAM_LOG_URL\napprovals:\n  expire_after: 24h\n"
    )
    monkeypatch.delenv("RULERUN_LOG_URL", raising=False)
    monkeypatch.setenv("TEAM_LOG_URL", "postgresql://u@db/x")
    ws = Workspace.resolve(str(tmp_path / "rules"), None)
    assert ws.state_dir == tmp_path / "var" / "state"
    assert ws.log_url(None) == "postgresql://u@db/x" and ws.log_url("sqlite-override") == "sqlite-override"
    assert ws.approval_ttl(None) == timedelta(hours=24) and ws.approval_ttl(timedelta(hours=1)) == timedelta(hours=1)


@pytest.mark.parametrize(
    "text, fragment, line",
    [
        ("state_dir: x\nstate_dri: y\n", "unknown setting 'state_dri'", 2),
        ("action_log:\n  url: postgresql://user:secret@db/x\n", "unknown setting 'url' in action_log", 2),
        ("approvals:\n  expire_after: soon\n", "invalid duration 'soon' for expire_after", 2),
    ],
)
def test_bad_settings_are_reported_with_position(tmp_path, text, fragment, line):
    (tmp_path / "rulerun.yaml").write_text(text)
    with pytest.raises(ValidationFailed) as exc:
        Workspace.resolve(str(tmp_path / "rules"), None)
    (d,) = exc.value.diagnostics
    assert fragment in d.format() and d.line == line and d.file.endswith("rulerun.yaml")


def test_products_from_the_file(tmp_path):
    assert Workspace.resolve(str(tmp_path / "rules"), None).products() is None
    (tmp_path / "rulerun.yaml").write_text("products: [bot, dot, board]\n")
    assert Workspace.resolve(str(tmp_path / "rules"), None).products() == ["bot", "dot", "board"]
    (tmp_path / "rulerun.yaml").write_text("products: [bot, bot-mini, smart-speaker, x2-3]\n")
    assert Workspace.resolve(str(tmp_path / "rules"), None).products() == ["bot", "bot-mini", "smart-speaker", "x2-3"]


@pytest.mark.parametrize(
    "text, fragment, line, col",
    [
        ("state_dir: x\nproducts: bot\n", "products must be a list, not a string", 2, 11),
        ("products: {bot: 1}\n", "products must be a list, not a mapping", 1, 11),
        ("products: [bot, 3]\n", "product 2 is a number, not a name", 1, 17),
        ("products: [bot, Dot]\n", "product 'Dot' is not a product name", 1, 17),
        ("products:\n  - bot\n  - bot_pro\n", "product 'bot_pro' is not a product name", 3, 5),
        ("products: [bot, Bot-Mini]\n", "product 'Bot-Mini' is not a product name", 1, 17),
        ("products: [bot-]\n", "product 'bot-' is not a product name", 1, 12),
        ("products: [-bot]\n", "product '-bot' is not a product name", 1, 12),
        ("products: [bot--mini]\n", "product 'bot--mini' is not a product name", 1, 12),
        ("products: [bot mini]\n", "product 'bot mini' is not a product name", 1, 12),
        ("products:\n  - bot\n  - dot\n  - bot\n", "product 'bot' is listed twice", 4, 5),
        ("products: []\n", "products must not be empty", 1, 11),
    ],
)
def test_bad_products_are_reported_with_line_and_column(tmp_path, text, fragment, line, col):
    (tmp_path / "rulerun.yaml").write_text(text)
    with pytest.raises(ValidationFailed) as exc:
        Workspace.resolve(str(tmp_path / "rules"), None)
    (d,) = exc.value.diagnostics
    assert fragment in d.format() and (d.line, d.col) == (line, col) and d.file.endswith("rulerun.yaml")


def test_cli_reports_a_bad_workspace_file_without_traceback(tmp_path):
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    (tmp_path / "rulerun.yaml").write_text("colour: blue\n")
    res = run("validate", "--rules", str(tmp_path / "rules"), cwd=tmp_path)
    assert res.returncode == 1 and "rulerun.yaml:1:1" in res.stderr and "Traceback" not in res.stderr


def test_dotenv_beside_the_rules_supplies_missing_variables_only(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("RULERUN_TEST_FROM_DOTENV=from-file\nRULERUN_TEST_ALREADY=from-file\n")
    monkeypatch.delenv("RULERUN_TEST_FROM_DOTENV", raising=False)
    monkeypatch.setenv("RULERUN_TEST_ALREADY", "from-environment")
    Workspace.resolve(str(tmp_path / "rules"), None).load_env()
    import os

    assert os.environ["RULERUN_TEST_FROM_DOTENV"] == "from-file"
    assert os.environ["RULERUN_TEST_ALREADY"] == "from-environment"
    monkeypatch.delenv("RULERUN_TEST_FROM_DOTENV")


def test_platform_accounts_from_the_file(tmp_path):
    (tmp_path / "rulerun.yaml").write_text(
        "platforms:\n  google:\n    concurrency: 2\n    accounts:\n"
        "      - {id: '123-456-7890', timezone: America/New_York}\n  meta:\n    accounts:\n      - {id: 42}\n"
    )
    ws = Workspace.resolve(str(tmp_path / "rules"), None)
    assert [(a.platform, a.account_id, a.timezone) for a in ws.accounts()] == [
        ("google", "123-456-7890", "America/New_York"),
        ("meta", "42", "UTC"),
    ]
    assert ws.concurrency("google") == 2 and ws.concurrency("meta") == 4
    assert [a.platform for a in ws.accounts("meta")] == ["meta"]


def test_an_account_may_name_the_platform_region(tmp_path):
    (tmp_path / "rulerun.yaml").write_text(
        "platforms:\n  amazon:\n    accounts:\n      - {id: 3847261904471, region: EU}\n      - {id: '11'}\n"
    )
    ws = Workspace.resolve(str(tmp_path / "rules"), None)
    assert [(a.account_id, a.region) for a in ws.accounts("amazon")] == [("3847261904471", "EU"), ("11", None)]


def test_a_platform_api_version_reaches_its_accounts(tmp_path):
    (tmp_path / "rulerun.yaml").write_text(
        "platforms:\n  linkedin:\n    api_version: '202601'\n    accounts:\n      - {id: 508923114}\n"
        "  meta:\n    accounts:\n      - {id: 42}\n"
    )
    ws = Workspace.resolve(str(tmp_path / "rules"), None)
    assert [(a.platform, a.api_version) for a in ws.accounts()] == [("linkedin", "202601"), ("meta", None)]
