"""Where the shipped catalog, schemas and rule library live.

In a source checkout (or an editable install) they are the folders at the repository
root; in an installed wheel they are packaged under engine/_data/.
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
