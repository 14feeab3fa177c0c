"""Parse and validate agent, skill and workflow files into typed specs.

Entry points: :class:`Project` (a whole folder, refreshable),
:func:`load_workflow` (one file) and :func:`build_workflow` (step drafts from any
writer: the planner, tasks). Problems come back as located :class:`Diagnostic`
values, never as tracebacks.
"""

from pathlib import Path

from orchestra.definitions.builder import StepDraft, WorkflowDraft, build_workflow, check_workflow
from orchestra.definitions.diagnostics import (
    Code,
    DefinitionError,
    Diagnostic,
    format_diagnostics,
)
from orchestra.definitions.project import Project, find_project_root, load_workflow
from orchestra.definitions.specs import (
    AgentSpec,
    Budget,
    InputSpec,
    McpServerSpec,
    SkillSpec,
    StepSpec,
    WorkflowSpec,
)


def load_project(root: Path) -> Project:
    """Load every definition under ``root``; check ``.diagnostics`` for problems."""
    return Project.load(root)


__all__ = [
    "AgentSpec",
    "Budget",
    "Code",
    "DefinitionError",
    "Diagnostic",
    "InputSpec",
    "McpServerSpec",
    "Project",
    "SkillSpec",
    "StepDraft",
    "StepSpec",
    "WorkflowDraft",
    "WorkflowSpec",
    "build_workflow",
    "check_workflow",
    "find_project_root",
    "format_diagnostics",
    "load_project",
    "load_workflow",
]
