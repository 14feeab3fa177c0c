from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestra.definitions import Diagnostic, Project

AGENT = """\
---
name: {name}
model: default
---
You are {name}.
"""

WriteProject = Callable[..., Project]


@pytest.fixture
def write_project(tmp_path: Path) -> WriteProject:
    """Write files (relative path -> text) into a fresh project and load it.

    Agents 'analyst' and 'writer' always exist unless overridden.
    """

    def write(files: dict[str, str]) -> Project:
        defaults = {
            "agents/analyst.agent.md": AGENT.format(name="analyst"),
            "agents/writer.agent.md": AGENT.format(name="writer"),
        }
        for rel, text in {**defaults, **files}.items():
            path = tmp_path / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        return Project.load(tmp_path)

    return write


def only(diagnostics: list[Diagnostic]) -> Diagnostic:
    assert len(diagnostics) == 1, "\n".join(d.format() for d in diagnostics)
    return diagnostics[0]
