"""The workspace: the rules folder, the state directory and `rulerun.yaml` beside the rules.

`rulerun.yaml` (optional) holds settings a team shares in git:

    state_dir: .rulerun            # relative to the file
    timezone: Europe/Berlin        # the workflows' cron schedules are read here (default UTC)
    source: live                   # the data when no --source is given: demo, file:DIR (relative
                                   # to the file) or live; default demo (apply refuses to guess
                                   # when platforms below lists accounts)
    action_log:
      url_env: RULERUN_LOG_URL     # the name of the variable holding a postgresql:// URL
    approvals:
      expire_after: 72h
    products: [bot, bot-mini, dot] # product lines: a live ad entity whose name starts with one
                                   # (Bot-Prospecting-LAL-2026Q1) promotes the longest such one
                                   # (Bot-Mini-LAL: bot-mini), and so do its children
    platforms:                     # what `rulerun sync` reads (credentials come from the environment)
      google:
        accounts:
          - {id: "123-456-7890", timezone: America/New_York, currency: USD}
      meta:
        accounts:
          - {id: act_1029384756}
      amazon:
        accounts:
          - {id: "3847261904471", region: EU}   # the advertising profile id; NA, EU or FE hosts
      linkedin:
        api_version: "202601"      # the API version every call asks for (LinkedIn: YYYYMM)
        accounts:
          - {id: "508923114"}

Secrets never go in the file: the action log URL is read from the environment variable it
names. Command-line options and environment variables override the file.

The rules folder is `--rules PATH`, else `RULERUN_RULES`, else found as git finds `.git`:
from the working directory upward, the first folder that holds `rulerun.yaml` or a `rules/`
folder with rule files in it; its `rules/` is the rules folder. So any command works from
anywhere inside the repository (`cd rules/meta && rulerun validate`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, timedelta, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jsonschema import Draft202012Validator, ValidationError

from engine.core.errors import Diagnostic, RulerunError, ValidationFailed
from engine.core.limits import cap_per_file
from engine.core.yamlpos import Document, load_file
from engine.rules.durations import PATTERN as DURATION
from engine.rules.durations import parse_duration
from engine.rules.loader import _explain, _type_name
from platforms.adapter import Account

CONFIG_NAME = "rulerun.yaml"
APPROVAL_TTL = timedelta(hours=72)  # how long a queued action waits for a human, unless configured
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://rulerun.dev/schemas/workspace.schema.json",
    "title": "rulerun workspace",
    "description": "rulerun.yaml beside the rules folder: settings shared in git. Never put secrets here.",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "state_dir": {"type": "string", "minLength": 1, "description": "State directory, relative to this file."},
        "timezone": {
            "type": "string",
            "minLength": 1,
            "description": "IANA timezone the workflows' cron schedules are read in (Europe/Berlin); default UTC.",
        },
        "source": {
            "type": "string",
            "pattern": r"^(demo|demo:.+|file:.+|live)$",
            "description": "The data source when no --source is given: demo, demo:ad_groups=N,days=D, file:DIR "
            "(relative to this file) or live. Without it: demo, except that apply refuses to guess when "
            "platforms lists accounts.",
        },
        "action_log": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "url_env": {
                    "type": "string",
                    "pattern": ENV_NAME,
                    "description": "Environment variable holding the action log URL (postgresql://...).",
                },
            },
        },
        "platforms": {
            "type": "object",
            "description": "Platforms and accounts `rulerun sync` reads.",
            "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["accounts"],
                "properties": {
                    "accounts": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["id"],
                            "additionalProperties": False,
                            "properties": {
                                "id": {"type": ["string", "integer"]},
                                "timezone": {"type": "string"},
                                "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                                "endpoint": {"type": "string", "description": "A non-default API address."},
                                "region": {
                                    "type": "string",
                                    "description": "The platform's API region where it has several "
                                    "(Amazon: NA, EU, FE).",
                                },
                            },
                        },
                    },
                    "api_version": {
                        "type": "string",
                        "minLength": 1,
                        "description": "The API version to call where the platform versions its API per request "
                        "(LinkedIn: YYYYMM, e.g. 202601). Platforms that do not ignore it.",
                    },
                    "concurrency": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 16,
                        "description": "Accounts read at once (default 4).",
                    },
                },
            },
        },
        "products": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": r"^[a-z0-9]+(-[a-z0-9]+)*$"},
            "description": "The product lines, lowercase words joined by hyphens as Shopify handles are (bot, "
            "bot-mini, smart-speaker). A live ad entity whose name starts with one of them, in any case and "
            "with any of - _ | : or spaces between the words, promotes the longest such one (Bot-Mini-LAL: "
            "bot-mini), and so do its children (per-product thresholds then apply). Without it: the handles "
            "of the synced Shopify products.",
        },
        "approvals": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "expire_after": {
                    "type": "string",
                    "pattern": DURATION,
                    "description": "How long approvals wait: 30m, 72h, 3d.",
                }
            },
        },
    },
}


@dataclass
class Workspace:
    rules: Path
    state_dir: Path
    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def resolve(cls, rules: str | None, state_dir: str | None) -> Workspace:
        given = rules or os.environ.get("RULERUN_RULES")
        rules_path = Path(given) if given else find_rules(Path.cwd())
        root = rules_path.resolve().parent
        settings = _read_config(root / CONFIG_NAME)
        state = state_dir or os.environ.get("RULERUN_STATE_DIR")
        if state:
            state_path = Path(state)
        elif settings.get("state_dir"):
            state_path = root / settings["state_dir"]
        else:
            # Like a Terraform root: state lives beside the rules folder unless told otherwise.
            state_path = root / ".rulerun"
        return cls(rules_path, state_path, settings)

    def source_for(self, given: str | None, *, executing: bool = False) -> str:
        """The data source of a run: --source, else rulerun.yaml's `source`, else the demo.

        When `executing` (apply) with live accounts configured and no source named, there is
        no safe guess: the demo sandbox would report changes nobody made, and live would
        change real accounts nobody asked to change.
        """
        if given:
            return given
        configured = self.settings.get("source")
        if configured:
            if configured.startswith("file:"):
                path = Path(configured.removeprefix("file:")).expanduser()
                return f"file:{path if path.is_absolute() else self.rules.resolve().parent / path}"
            return str(configured)
        accounts = self.accounts()
        if executing and accounts:
            named = ", ".join(f"{a.platform} {a.account_id}" for a in accounts[:3]) + (
                f" and {len(accounts) - 3} more" if len(accounts) > 3 else ""
            )
            raise RulerunError(
                f"{CONFIG_NAME} configures live accounts ({named}) but no data source: apply does not guess "
                "between them and the demo sandbox",
                hint=f"pass --source live (or file:DIR, or demo), or set `source: live` in {CONFIG_NAME}",
            )
        return "demo"

    def timezone(self) -> tzinfo:
        """The timezone schedules are read in: rulerun.yaml's `timezone` (checked when read), else UTC."""
        name = self.settings.get("timezone")
        return ZoneInfo(name) if name else UTC

    def load_env(self) -> None:
        """Read credentials from `.env` beside the rules folder, if there is one; the real
        environment wins. Values are never printed, logged or stored."""
        env = self.rules.resolve().parent / ".env"
        if env.is_file():
            from dotenv import load_dotenv

            load_dotenv(env, override=False)

    def log_url(self, given: str | None) -> str | None:
        """The action log URL: --log-url, then RULERUN_LOG_URL, then the variable rulerun.yaml names."""
        if given:
            return given
        if os.environ.get("RULERUN_LOG_URL"):
            return os.environ["RULERUN_LOG_URL"]
        env = (self.settings.get("action_log") or {}).get("url_env")
        return os.environ.get(env) if env else None

    def accounts(self, platform: str | None = None) -> list[Account]:
        """The live accounts rulerun.yaml configures (optionally of one platform)."""
        out = []
        for name, spec in (self.settings.get("platforms") or {}).items():
            if platform and name != platform:
                continue
            for a in spec.get("accounts") or []:
                out.append(
                    Account(
                        name,
                        str(a["id"]),
                        a.get("timezone", "UTC"),
                        a.get("currency", "USD"),
                        a.get("endpoint"),
                        region=a.get("region"),
                        api_version=spec.get("api_version"),
                    )
                )
        return out

    def products(self) -> list[str] | None:
        """The product lines rulerun.yaml names (`products:`), or None when it names none."""
        given = self.settings.get("products")
        return [str(p) for p in given] if given is not None else None

    def concurrency(self, platform: str) -> int:
        return int(((self.settings.get("platforms") or {}).get(platform) or {}).get("concurrency", 4))

    def approval_ttl(self, given: timedelta | None) -> timedelta:
        text = (self.settings.get("approvals") or {}).get("expire_after")
        return given or (parse_duration(text) if text else APPROVAL_TTL)


RULES_DIR = "rules"


def find_rules(start: Path) -> Path:
    """The rules folder of the workspace `start` is in: `rules/` of the nearest folder at or above
    `start` holding `rulerun.yaml` or a `rules/` folder with rule files; `./rules` when none does
    (the loader then says it is missing)."""
    for folder in (start, *start.parents):
        candidate = folder / RULES_DIR
        if (folder / CONFIG_NAME).is_file() or _holds_rule_files(candidate):
            return candidate if folder != start else Path(RULES_DIR)
    return Path(RULES_DIR)


def _holds_rule_files(folder: Path) -> bool:
    """Whether `folder` has YAML files at its top or one level down (guardrails.yaml, <operator>/*.yaml)."""
    if not folder.is_dir():
        return False
    try:
        for pattern in ("*.yaml", "*.yml", "*/*.yaml", "*/*.yml"):
            if next(folder.glob(pattern), None) is not None:
                return True
    except OSError:  # an unreadable folder is not a workspace
        return False
    return False


def _read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    doc, problems = load_file(path)
    if doc is not None and doc.data is not None:
        if not isinstance(doc.data, dict):
            problems.append(doc.diag((), f"{CONFIG_NAME} must be a mapping of settings"))
        else:
            for err in Draft202012Validator(SCHEMA).iter_errors(doc.data):
                where = tuple(err.absolute_path)
                if where[:1] == ("products",):
                    problems.append(_explain_products(doc, where, err))
                else:
                    problems.extend(_explain(doc, where, err, label="setting"))
            zone = doc.data.get("timezone")
            if isinstance(zone, str) and zone and not _known_zone(zone):
                problems.append(
                    doc.diag(("timezone",), f"unknown timezone {zone!r}", "an IANA name such as UTC or Europe/Berlin")
                )
    if problems:
        raise ValidationFailed(cap_per_file(problems), f"invalid {CONFIG_NAME}")
    return doc.data if doc and isinstance(doc.data, dict) else {}


PRODUCTS_HINT = "a list of product names, e.g. products: [bot, bot-mini, smart-speaker]"


def _explain_products(doc: Document, path: tuple, err: ValidationError) -> Diagnostic:
    """The one problem of a `products:` list, in the words of the setting."""
    if err.validator == "pattern":
        return doc.diag(
            path,
            f"product {err.instance!r} is not a product name",
            "lowercase letters and digits, words joined by single hyphens as in a Shopify handle (bot, bot-mini)",
        )
    if err.validator == "type" and len(path) > 1:
        return doc.diag(path, f"product {path[-1] + 1} is a {_type_name(err.instance)}, not a name", PRODUCTS_HINT)
    if err.validator == "type":
        return doc.diag(path, f"products must be a list, not a {_type_name(err.instance)}", PRODUCTS_HINT)
    if err.validator == "uniqueItems":
        items = err.instance
        twice = next((i for i in range(len(items)) if items[i] in items[:i]), 0)
        return doc.diag((*path, twice), f"product {items[twice]!r} is listed twice", "list each product once")
    if err.validator == "minItems":
        return doc.diag(path, "products must not be empty", "leave the setting out to use the synced Shopify products")
    return doc.diag(path, f"products: {err.message}", PRODUCTS_HINT)


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
