"""Bounds on what a YAML file may hold (rules, rule tests, rulerun.yaml, the catalog).

Every file is read from a repository anyone can send a pull request to, so none is
trusted: these bounds keep a hostile file from exhausting time or memory, and each is
refused with a positioned diagnostic rather than a crash. README.md documents them.
"""

from __future__ import annotations

from collections import Counter

from engine.core.errors import Diagnostic

MAX_FILE_BYTES = 1_000_000  # checked before the file is read
MAX_DEPTH = 64  # nesting of lists and mappings, aliases expanded
MAX_ALIASES = 100  # `*name` references in one file
MAX_ALIAS_VALUES = 10_000  # values the aliases of one file may add once expanded
MAX_NUMBER = 1e18  # largest magnitude of a number (a Meta id has 18 digits)
MAX_NUMBER_CHARS = 100  # a longer number is refused before it is converted
MAX_ERRORS_PER_FILE = 50  # diagnostics shown per file; one more counts the rest
MAX_SCHEDULE_CHARS = 200  # a cron schedule; checking a long list takes croniter seconds

# What one file may ask the engine to do: these bound the work after reading, which the
# file size alone does not (a five-line rule test can ask for millions of daily rows).
MAX_RULES_PER_WORKFLOW = 100  # lint compares rules pairwise
MAX_ESCALATIONS_PER_OPERATOR = 100  # each is checked against every action
MAX_TESTS_PER_FILE = 50  # each rule test is one evaluation of its workflow
MAX_TEST_CONDITION_PARTS = 25_000  # tests of one file x parts of their workflow's conditions
MAX_TEST_DAILY_VALUES = 100_000  # daily values in all metric series of one test file
MAX_TEST_ENTITY_DAYS = 20_000  # rows of metrics one test file generates (entities x days, over its tests)


def cap_per_file(diagnostics: list[Diagnostic], limit: int = MAX_ERRORS_PER_FILE) -> list[Diagnostic]:
    """The first `limit` diagnostics of each file (by position), and one that counts the rest.

    The count is positioned at the first diagnostic left out, so it sorts after those shown
    and still names a line to start from.
    """
    per_file = Counter(d.file for d in diagnostics)
    if all(n <= limit for n in per_file.values()):
        return diagnostics
    by_file: dict[str | None, list[Diagnostic]] = {}
    for d in sorted(diagnostics, key=lambda d: (d.file or "", d.line or 0, d.col or 0)):
        by_file.setdefault(d.file, []).append(d)
    out: list[Diagnostic] = []
    for file, found in by_file.items():
        out.extend(found[:limit])
        if len(found) > limit:
            first = found[limit]
            rest = len(found) - limit
            severity = "error" if any(d.severity == "error" for d in found[limit:]) else "warning"
            out.append(
                Diagnostic(
                    file,
                    first.line,
                    first.col,
                    f"{rest} more problem(s) in this file not shown",
                    f"fix the ones above and run again; at most {limit} are shown per file",
                    severity,  # type: ignore[arg-type]
                )
            )
    return out
