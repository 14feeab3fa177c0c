"""Located, actionable problems found in definition files.

Validation never stops at the first problem: every parser appends
:class:`Diagnostic` values to a list and carries on, so a user sees all of
their mistakes at once, each printed like a compiler error::

    workflows/demo.workflow.md:12:14: error: unknown agent 'anlyst'
      hint: did you mean 'analyst'? Agents in this project: analyst, writer
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

from orchestra.errors import UserMistake


class Code(StrEnum):
    """Stable identifiers for each kind of problem (used by tests, the API and the web UI)."""

    YAML_SYNTAX = "yaml-syntax"
    FRONT_MATTER = "front-matter"
    UNKNOWN_FIELD = "unknown-field"
    INVALID_VALUE = "invalid-value"
    MISSING_FILE = "missing-file"
    UNKNOWN_AGENT = "unknown-agent"
    DUPLICATE_AGENT = "duplicate-agent"
    MISSING_STEP_ID = "missing-step-id"
    DUPLICATE_STEP_ID = "duplicate-step-id"
    UNKNOWN_STEP = "unknown-step"
    UNKNOWN_BULLET = "unknown-bullet"
    MALFORMED_BULLET = "malformed-bullet"
    MISSING_AGENT = "missing-agent"
    EMPTY_INSTRUCTION = "empty-instruction"
    UNDEFINED_VARIABLE = "undefined-variable"
    DUPLICATE_OUTPUT = "duplicate-output"
    CYCLE = "cycle"
    NO_STEPS = "no-steps"
    BAD_HEADING = "bad-heading"
    DUPLICATE_WORKFLOW = "duplicate-workflow"
    UNKNOWN_WORKFLOW = "unknown-workflow"
    UNREADABLE = "unreadable"
    ENCODING = "encoding"
    INVALID_CHARACTER = "invalid-character"
    OUTSIDE_PROJECT = "outside-project"
    DUPLICATE_KEY = "duplicate-key"
    UNKNOWN_MODEL = "unknown-model"
    UNKNOWN_TOOL = "unknown-tool"
    SETTINGS = "settings"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem at one place. Lines and columns are 1-based."""

    path: Path
    line: int
    col: int
    code: Code
    message: str
    hint: str = ""
    severity: str = "error"

    def format(self, relative_to: Path | None = None) -> str:
        shown = _display_path(self.path, relative_to)
        text = f"{shown}:{self.line}:{self.col}: {self.severity}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "line": self.line,
            "col": self.col,
            "code": self.code.value,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


class DefinitionError(UserMistake):
    """A definition file (or a set of them) is invalid; carries every problem found."""

    code: ClassVar[str] = "invalid_definition"

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__(format_diagnostics(self.diagnostics))


def format_diagnostics(diagnostics: Iterable[Diagnostic], relative_to: Path | None = None) -> str:
    return "\n".join(d.format(relative_to) for d in diagnostics)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A "did you mean 'x'?" phrase for the closest choice, or "" when nothing is close."""
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return f"did you mean '{lowered[close[0]]}'?" if close else ""


def choices_hint(word: str, choices: Iterable[str], noun: str) -> str:
    """Did-you-mean plus the full list, so the user can pick even when no name is close."""
    options = sorted(set(choices))
    guess = did_you_mean(word, options)
    listing = f"{noun}: {', '.join(options)}" if options else f"there are no {noun.lower()}"
    return f"{guess} {listing}".strip()


def outside_project(path: Path, written: Path, line: int, col: int, target: Path) -> Diagnostic:
    """``target`` (linked from ``path``, or ``path`` itself as a symlink) leaves the project.

    A definition outside the project could grant itself any tool while ``validate`` and
    ``show agents`` look only at the project, so it is refused unless settings allow it.
    """
    real = target.resolve()
    return Diagnostic(
        path,
        line,
        col,
        Code.OUTSIDE_PROJECT,
        f"'{written}' resolves to {real}, outside the project folder",
        "move the file into the project, or allow its folder explicitly in orchestra.toml: "
        '[definitions] allow_paths = ["../shared"]',
    )


def _display_path(path: Path, relative_to: Path | None) -> str:
    base = relative_to or Path.cwd()
    try:
        return os.path.relpath(path, base) if path.is_absolute() else str(path)
    except ValueError:  # different drive on Windows
        return str(path)
