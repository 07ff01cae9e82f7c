"""The metrics store is shared between processes: a dry run reads it while an apply runs (CI
and cron overlap); only loading data holds it exclusively."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from engine.data.store import DB_NAME
from tests.helpers.cli import REPO, run
from tests.helpers.rules import PINTEREST_OPERATOR, write_rules

WAIT_LIMIT = 60.0  # a safety net against hangs, never an assertion about speed

WATCH = (
    "workflow: watch\noperator: pinterest\nlevel: ad_group\nwindow: last_7d\nrules:\n"
    "  - id: low_outbound\n    when: outbound_ctr < 0.003 and spend > 500\n"
    "    action: {type: notify, message: outbound CTR under 0.3%}\n"
)


@contextmanager
def held_webhook() -> Iterator[tuple[str, threading.Event, threading.Event]]:
    """A Slack webhook that answers only when released: (url, entered, release)."""
    entered, release = threading.Event(), threading.Event()

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            entered.set()
            release.wait(WAIT_LIMIT)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", entered, release
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_a_dry_run_reads_the_store_while_an_apply_holds_it(tmp_path):
    rules = write_rules(tmp_path, {"pinterest/operator.yaml": PINTEREST_OPERATOR, "pinterest/watch.yaml": WATCH})
    assert run("evaluate", "--rules", str(rules), cwd=tmp_path).returncode == 0  # the demo is loaded
    with held_webhook() as (url, entered, release):
        apply = subprocess.Popen(
            [sys.executable, "-m", "engine.cli.main", "apply", "--rules", str(rules)],
            cwd=tmp_path,
            env={**_env(), "RULERUN_SLACK_WEBHOOK": url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            # the apply is delivering a notification: it has the store open for its whole run
            assert entered.wait(WAIT_LIMIT), apply.stderr.read() if apply.poll() is not None else "no post"
            dry_run = run("evaluate", "--rules", str(rules), "--format", "json", cwd=tmp_path)
            still_applying = apply.poll() is None
        finally:
            release.set()
            _, err = apply.communicate(timeout=WAIT_LIMIT)
    assert dry_run.returncode == 0, dry_run.stderr
    assert '"low_outbound"' in dry_run.stdout
    assert still_applying, "the apply finished before the dry run: nothing was tested"
    assert apply.returncode == 0, err


def test_loading_holds_the_store_exclusively_and_says_so(tmp_path):
    rules = write_rules(tmp_path, {"pinterest/operator.yaml": PINTEREST_OPERATOR, "pinterest/watch.yaml": WATCH})
    state = tmp_path / ".rulerun"
    state.mkdir()
    writer = subprocess.Popen(  # a real second process with the store open for writing, as a load has it
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(state / DB_NAME)!r}); "
            "print('open', flush=True); sys.stdin.readline()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert writer.stdout.readline().strip() == "open"
        res = run("evaluate", "--rules", str(rules), cwd=tmp_path)
    finally:
        writer.communicate("\n", timeout=WAIT_LIMIT)
    assert res.returncode == 5 and "in use by another rulerun process" in res.stderr and "Traceback" not in res.stderr
    assert run("evaluate", "--rules", str(rules), cwd=tmp_path).returncode == 0  # and once it is gone, it loads


def _env() -> dict[str, str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "RULERUN_USER": "tester"}
    env.pop("RULERUN_STATE_DIR", None)
    return env
