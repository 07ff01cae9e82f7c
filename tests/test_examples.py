"""The CI and scheduling examples: they parse, every rulerun command in them is one the CLI accepts,
data is always named with --source, rulerun comes from its repository, and credentials from secrets."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from croniter import croniter

from engine.cli.main import main as cli
from tests.helpers.cli import REPO

EXAMPLES = REPO / "examples"
WORKFLOWS = sorted((EXAMPLES / "github-actions").glob("*.yml"))
READS_DATA = {"evaluate", "apply", "diff", "backtest", "explain"}
CREDENTIAL = re.compile(r"TOKEN|SECRET|PASSWORD|KEY|_URL$|WEBHOOK")


def _load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict) and doc.get("jobs"), path
    return doc


def _triggers(doc: dict) -> dict:
    return doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` key as true


def _commands(text: str) -> list[list[str]]:
    """Every `rulerun <command> ...` the shell text runs (at the start of a command, not inside a message)."""
    found = []
    for line in text.splitlines():
        code = line.split(" #", 1)[0]
        for match in re.finditer(r"(?:^\s*|[;{]\s*|&&\s*|\|\|\s*)(?:\S*/)?rulerun\s+([a-z][^|;&}>]*)", code):
            words = shlex.split(match.group(1))
            if words and words[0] in cli.commands:
                found.append(words)
    return found


def _check_with_the_cli(words: list[str], where: str) -> None:
    """Parse the arguments with the real command, as the shell would pass them."""
    command = cli.commands[words[0]]
    values = {"$RULERUN_SOURCE": "live", "$SOURCE": "live", "$GITHUB_BASE_REF": "main"}
    args = [values.get(w.removeprefix("origin/"), w) if "$" in w else w for w in words[1:]]
    try:
        command.make_context(words[0], args)
    except click.ClickException as exc:  # an unknown option, a bad choice, a missing argument
        pytest.fail(f"{where}: `rulerun {' '.join(words)}` is refused: {exc.format_message()}")


def _runs(doc: dict) -> list[str]:
    return [step["run"] for job in doc["jobs"].values() for step in job["steps"] if "run" in step]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_github_workflows_parse_and_every_command_is_accepted(path):
    doc = _load(path)
    assert _triggers(doc), f"{path.name} has no trigger"
    commands = [words for run in _runs(doc) for words in _commands(run)]
    assert commands, f"{path.name} runs no rulerun command"
    for words in commands:
        _check_with_the_cli(words, path.name)
        if words[0] in READS_DATA:
            assert "--source" in words, f"{path.name}: `rulerun {' '.join(words)}` must name its data with --source"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_github_workflows_install_rulerun_from_its_repository(path):
    doc = _load(path)
    installs = [line for run in _runs(doc) for line in run.splitlines() if "pip install" in line]
    assert installs, f"{path.name} does not install rulerun"
    for line in installs:
        target = line.split("pip install", 1)[1].split()
        assert target and (target[-1].startswith(("git+https://", "./", ".")) and target[-1] != "rulerun"), line
    checkouts = [
        step
        for job in doc["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("actions/checkout") and (step.get("with") or {}).get("repository")
    ]
    assert any(Path(installs[0].split()[-1]).as_posix().strip("./") == c["with"]["path"].strip("./") for c in checkouts)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_credentials_come_from_secrets(path):
    doc = _load(path)
    envs = [doc.get("env") or {}]
    envs += [job.get("env") or {} for job in doc["jobs"].values()]
    envs += [step.get("env") or {} for job in doc["jobs"].values() for step in job["steps"]]
    credentials = {name: value for env in envs for name, value in env.items() if CREDENTIAL.search(name)}
    assert credentials, f"{path.name} passes no credentials"
    for name, value in credentials.items():
        assert re.fullmatch(r"\$\{\{ secrets\.[A-Z0-9_]+ \}\}", str(value)), f"{path.name}: {name} is not a secret"


def test_the_scheduled_workflow_runs_apply_on_a_valid_cron():
    doc = _load(EXAMPLES / "github-actions" / "rulerun-apply.yml")
    crons = [item["cron"] for item in _triggers(doc)["schedule"]]
    assert crons and all(croniter.is_valid(c) for c in crons)
    assert any(words[0] == "apply" for run in _runs(doc) for words in _commands(run))
    assert doc.get("concurrency"), "two scheduled applies must not overlap"


def test_crontab_line_and_systemd_timer():
    lines = [
        line
        for line in (EXAMPLES / "cron" / "crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#") and "=" not in line.split()[0]
    ]
    assert len(lines) == 1
    fields = lines[0].split()
    assert croniter.is_valid(" ".join(fields[:5])) and fields[5].endswith("rulerun-apply.sh")

    timer = configparser.ConfigParser()
    timer.read(EXAMPLES / "systemd" / "rulerun-apply.timer")
    assert timer["Timer"]["OnCalendar"] and timer["Install"]["WantedBy"] == "timers.target"
    service = configparser.ConfigParser(interpolation=None)
    service.read(EXAMPLES / "systemd" / "rulerun-apply.service")
    exec_start = shlex.split(service["Service"]["ExecStart"])
    assert exec_start[0].endswith("/rulerun") and exec_start[1] == "apply" and "--source" in exec_start
    _check_with_the_cli(exec_start[1:], "rulerun-apply.service")

    script = (EXAMPLES / "cron" / "rulerun-apply.sh").read_text()
    for words in _commands(script):
        _check_with_the_cli(words, "rulerun-apply.sh")
        assert words[0] != "apply" or "--source" in words


@pytest.fixture
def wrapper_repo(tmp_path):
    """A repository with the shipped rules and the cron wrapper at examples/cron/, with rulerun on PATH."""
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    (tmp_path / "examples" / "cron").mkdir(parents=True)
    script = tmp_path / "examples" / "cron" / "rulerun-apply.sh"
    shutil.copy2(EXAMPLES / "cron" / "rulerun-apply.sh", script)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RULERUN_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    return script, env


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
@pytest.mark.parametrize(
    "extra, code, message",
    [
        ({"RULERUN_SOURCE": "demo"}, 0, None),
        ({"RULERUN_SOURCE": "file:does-not-exist"}, 2, "usage error"),
        ({"RULERUN_SOURCE": "demo", "RULERUN_EMERGENCY_STOP": "1"}, 4, "emergency stop engaged"),
    ],
)
def test_the_cron_wrapper_runs_apply_and_exits_with_its_code(wrapper_repo, extra, code, message):
    if not shutil.which("rulerun", path=wrapper_repo[1]["PATH"]):
        pytest.skip("the rulerun script is not installed beside this Python")
    script, env = wrapper_repo
    result = subprocess.run(["sh", str(script)], env={**env, **extra}, capture_output=True, text=True, timeout=300)
    assert result.returncode == code, result.stderr
    if message:
        assert message in result.stderr
    assert "Traceback" not in result.stderr
