"""The rules folder as committed at a git ref: for `rulerun diff --base REF`, and for a saved
plan whose rules were edited since (apply re-evaluates the rules at the plan's commit).

The folder is exported with `git archive` into a temporary directory (never written outside
it) and loaded there; problems are located at `REF:path:line:col`.
"""

from __future__ import annotations

import dataclasses
import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.core.catalog import Catalog
from engine.core.errors import Diagnostic, RulerunError, UsageError, ValidationFailed
from engine.core.yamlpos import display_path
from engine.rules.loader import load_project
from engine.rules.model import Project

GIT_TIMEOUT = 60


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, timeout=GIT_TIMEOUT)
    except FileNotFoundError:
        raise UsageError("git is not installed", hint="rulerun diff reads the base rules with git") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"git {args[0]} took longer than {GIT_TIMEOUT}s") from None


def _stderr(res: subprocess.CompletedProcess) -> str:
    return res.stderr.decode(errors="replace").strip().splitlines()[-1] if res.stderr.strip() else ""


def repo_of(rules: Path) -> tuple[Path, str]:
    """The git repository holding the rules folder, and the folder's path inside it (POSIX)."""
    res = _git(["rev-parse", "--show-toplevel"], rules)
    if res.returncode != 0:
        raise RulerunError(
            f"the rules folder {rules} is not in a git repository ({_stderr(res)})",
            hint="the rules are compared with a git ref: run inside a clone, or `git init` and commit the rules",
        )
    top = Path(res.stdout.decode().strip()).resolve()
    rel = rules.resolve().relative_to(top).as_posix()
    return top, rel or "."


def resolve_ref(top: Path, ref: str) -> str:
    """The commit a ref names, or a usage error saying so."""
    if not ref or ref.startswith("-"):
        raise RulerunError(f"{ref!r} is not a git ref", hint="e.g. --base main, --base HEAD~1, --base v1.2")
    res = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top)
    if res.returncode != 0:
        raise RulerunError(
            f"unknown git ref {ref!r} in {top}",
            hint="name a branch, tag or commit that exists locally (in CI, fetch it first: "
            "`git fetch origin main` and use --base origin/main)",
        )
    return res.stdout.decode().strip()


@contextmanager
def exported_rules(rules: Path, ref: str) -> Iterator[tuple[Path | None, str, str]]:
    """The rules folder as committed at `ref`, in a temporary directory: (folder or None, commit, rel path).

    The folder is None when it did not exist at that commit (the change adds the rules).
    """
    top, rel = repo_of(rules)
    commit = resolve_ref(top, ref)
    with tempfile.TemporaryDirectory(prefix="rulerun-diff-") as tmp:
        root = Path(tmp)
        listed = _git(["ls-tree", "--name-only", commit, "--", rel], top)
        if rel != "." and not listed.stdout.strip():
            yield None, commit, rel
            return
        res = _git(["archive", "--format=tar", commit, "--", rel], top)
        if res.returncode != 0:
            raise UsageError(f"cannot export {rel} at {ref}: {_stderr(res)}")
        with tarfile.open(fileobj=io.BytesIO(res.stdout)) as tar:
            tar.extractall(root, filter="data")  # never writes outside the temporary directory
        yield root / rel, commit, rel


def load_base_project(rules: Path, ref: str, catalog: Catalog) -> tuple[Project | None, str, str]:
    """(project at ref or None, commit, rel path), with errors located at `REF:path:line:col`."""
    with exported_rules(rules, ref) as (folder, commit, rel):
        if folder is None:
            return None, commit, rel
        try:
            return load_project(folder, catalog), commit, rel
        except ValidationFailed as exc:
            diagnostics = [_at_ref(d, folder, ref, rel) for d in exc.diagnostics]
            errors = sum(1 for d in diagnostics if d.severity == "error")
            raise ValidationFailed(
                diagnostics, f"{errors} error(s) in the rules at {ref}: nothing to compare against"
            ) from None


def _at_ref(d: Diagnostic, folder: Path, ref: str, rel: str) -> Diagnostic:
    """A diagnostic from the exported copy, renamed to the file as committed: `HEAD~1:rules/x.yaml`."""
    for prefix in (str(folder.resolve()), display_path(folder), str(folder)):
        if d.file and d.file.startswith(prefix):
            inner = d.file[len(prefix) :].lstrip("/\\")
            path = f"{rel}/{inner}" if rel != "." else inner
            return dataclasses.replace(d, file=f"{ref}:{path.rstrip('/')}")
    return d


def head_commit(rules: Path) -> str | None:
    """The commit checked out in the repository holding the rules folder, or None outside git."""
    try:
        res = subprocess.run(
            ["git", "-C", str(rules), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=GIT_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return res.stdout.strip() if res.returncode == 0 and res.stdout.strip() else None
