"""The project `serve` and `run` load: checked against settings and tools (issue 13.6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra.config import load_settings
from orchestra.definitions import Code, DefinitionError
from orchestra.runtime.project_checks import load_project

WORKFLOW = "---\nname: wf\n---\n## Step: a\n* **Agent:** a\n\nSay hello.\n"


def _write(root: Path, agent_front: str) -> None:
    (root / "agents").mkdir(exist_ok=True)
    (root / "workflows").mkdir(exist_ok=True)
    (root / "orchestra.toml").write_text("")
    (root / "agents" / "a.agent.md").write_text(f"---\nname: a\n{agent_front}---\nHi.\n")
    (root / "workflows" / "wf.workflow.md").write_text(WORKFLOW)


def test_a_workflow_whose_agent_fails_a_check_cannot_start(tmp_path: Path) -> None:
    _write(tmp_path, "model: gpt-fast\ntools: [files.raed]\n")
    project = load_project(load_settings(tmp_path, env={}))
    assert not project.ok
    assert "wf" not in project.workflows
    with pytest.raises(DefinitionError) as caught:
        project.workflow("wf")
    found = {(d.code, d.line) for d in caught.value.diagnostics}
    assert found == {(Code.UNKNOWN_MODEL, 3), (Code.UNKNOWN_TOOL, 4)}


def test_a_fix_is_picked_up_on_refresh(tmp_path: Path) -> None:
    _write(tmp_path, "model: gpt-fast\n")
    project = load_project(load_settings(tmp_path, env={}))
    assert "wf" not in project.workflows
    (tmp_path / "agents" / "a.agent.md").write_text("---\nname: a\nmodel: local\n---\nHi there.\n")
    project.refresh()
    assert project.ok and "wf" in project.workflows
