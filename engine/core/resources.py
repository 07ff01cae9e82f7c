"""Where the shipped catalog, schemas, rule library and platform folders live.

In a source checkout (or an editable install) the catalog, schemas and rules are the
folders at the repository root; in an installed wheel they are packaged under
engine/_data/. The platforms package sits next to the engine package in both cases, so
its folders are found on disk without importing it (engine/core is the bottom layer).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # the engine package


@cache
def data_dir(name: str) -> Path:
    """Return the folder of shipped data `name` (catalog, schemas or rules)."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped data folder {name!r} not found next to {_PACKAGE}")


def catalog_dir() -> Path:
    return data_dir("catalog")


def platforms_dir() -> Path:
    """The folder of the platforms package (one subfolder per platform)."""
    return _PACKAGE.parent / "platforms"


def platform_files(file_name: str, root: Path | None = None) -> dict[str, Path]:
    """Platform name -> its `file_name` (catalog.yaml, demo.py, ...), for every platform
    folder under `root` (default: the platforms package) that has one, sorted by name.

    A platform folder is a package (it has an __init__.py); its name is the folder's.
    """
    base = root if root is not None else platforms_dir()
    found = {}
    for folder in sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else ():
        path = folder / file_name
        if (folder / "__init__.py").is_file() and path.is_file():
            found[folder.name] = path
    return found
