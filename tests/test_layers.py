"""The engine's layers (pyproject.toml [tool.importlinter]): no upward import, no cycle, in CI."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers.cli import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_import_contracts_hold():
    res = lint_imports(REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "3 kept, 0 broken" in res.stdout


def test_an_upward_import_breaks_the_layers_contract(tmp_path):
    for folder in ("engine", "platforms"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    plan = tmp_path / "engine" / "core" / "plan.py"
    # hidden in a function, as cycles used to be
    plan.write_text(plan.read_text() + "\n\ndef _upward():\n    from engine.evaluation.evaluate import build_plan\n")
    res = lint_imports(tmp_path)
    assert res.returncode == 1
    assert "engine layers BROKEN" in res.stdout and "engine.core.plan -> engine.evaluation.evaluate" in res.stdout


def _function_level_imports(path: Path) -> list[str]:
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, ast.ImportFrom) and child.module:
                found.append(child.module)
            elif in_function and isinstance(child, ast.Import):
                found.extend(alias.name for alias in child.names)
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def test_only_the_command_line_imports_its_own_modules_lazily():
    """Function-level imports of rulerun's own modules would hide cycles from the contracts;
    only engine/cli/main.py defers its command implementations (a fast `rulerun --help`)."""
    lazy = {
        str(path.relative_to(REPO)): [m for m in _function_level_imports(path) if m.split(".")[0] == "engine"]
        for path in sorted((REPO / "engine").rglob("*.py"))
    }
    offenders = {path: mods for path, mods in lazy.items() if mods and path != "engine/cli/main.py"}
    assert offenders == {}
    assert any(m.startswith("engine.cli.") for m in lazy["engine/cli/main.py"])
