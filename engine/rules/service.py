"""What commands ask of the rules folder: open it for a run, or validate it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.core.catalog import Catalog, load_catalog
from engine.core.errors import Diagnostic, DiagnosticsError
from engine.rules.loader import load_project
from engine.rules.model import Project
from engine.rules.workspace import Workspace


@dataclass
class OpenProject:
    """The workspace, the catalog and the loaded rules one command works with."""

    workspace: Workspace
    catalog: Catalog
    project: Project


def open_project(rules: str | None, state_dir: str | None = None) -> OpenProject:
    """Resolve the workspace and load its rules folder; ValidationFailed lists every problem."""
    ws = Workspace.resolve(rules, state_dir)
    catalog = load_catalog()
    return OpenProject(ws, catalog, load_project(ws.rules, catalog))


@dataclass
class Validation:
    """`rulerun validate`: what the rules folder holds, or why it cannot run (`error`)."""

    root: Path | None = None
    operators: list[str] = field(default_factory=list)
    workflows: list[str] = field(default_factory=list)
    rules: int = 0
    warnings: list[Diagnostic] = field(default_factory=list)
    error: DiagnosticsError | None = None

    @property
    def valid(self) -> bool:
        return self.error is None


def validate(rules: str | None) -> Validation:
    """Load the rules folder and report it; problems with file positions are returned, not raised."""
    try:
        project = open_project(rules).project
    except DiagnosticsError as exc:
        return Validation(error=exc)
    return Validation(
        root=project.root,
        operators=sorted(project.operators),
        workflows=[w.id for w in project.workflows],
        rules=sum(len(w.rules) for w in project.workflows),
        warnings=list(project.warnings),
    )
