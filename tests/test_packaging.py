"""An installed wheel (not only the source tree) carries the catalog, schemas and rule library."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from tests.helpers.cli import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    res = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    (path,) = out.glob("rulerun-*.whl")
    return path


def test_wheel_ships_data_folders(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for required in (
        "engine/_data/catalog/metrics.yaml",
        "engine/_data/schemas/workflow.schema.json",
        "engine/_data/rules/pinterest/daily_optimize.yaml",
        "platforms/google/__init__.py",
        "platforms/google/adapter.py",
        "platforms/google/catalog.yaml",
        "platforms/google/demo.py",
        "engine/cli/main.py",
    ):
        assert required in names, required
    assert not any(n.startswith("tests/") for n in names)


def test_installed_wheel_works_from_any_directory(wheel, tmp_path):
    target = tmp_path / "site"
    res = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import engine.core.resources as r, engine.cli.main as c, engine.core.catalog as k; print(r.catalog_dir()); "
        "print(r.platform_files('catalog.yaml')['tiktok'], k.load_catalog().has_trait('tiktok', 'learning_phase')); "
        "c.main(['validate', '--rules', str(r.data_dir('rules'))])"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    catalog_line, fragment_line, ok_line = run.stdout.splitlines()[:3]
    shipped = sum(1 for d in (REPO / "rules").iterdir() if (d / "operator.yaml").is_file())
    assert catalog_line.startswith(str(target)) and ok_line.startswith(f"ok: {shipped} operator(s)")
    assert fragment_line == f"{target / 'platforms' / 'tiktok' / 'catalog.yaml'} True"
