"""The project loader re-reads only what changed and keeps everything else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestra.definitions import Code, DefinitionError

from .conftest import WriteProject

WF = "---\nname: {name}\n---\n## Step: a\n* **Agent:** [A](../agents/analyst.agent.md)\n\n{text}\n"


def _touch_later(path: Path, text: str) -> None:
    stat = path.stat()
    path.write_text(text)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_refresh_without_changes_keeps_every_spec(write_project: WriteProject) -> None:
    p = write_project({"workflows/one.workflow.md": WF.format(name="one", text="Go.")})
    before = p.workflows["one"]
    assert p.refresh() == set()
    assert p.workflows["one"].model_dump() == before.model_dump()


def test_edit_one_workflow_rereads_only_that_file(
    write_project: WriteProject, tmp_path: Path
) -> None:
    p = write_project(
        {
            "workflows/one.workflow.md": WF.format(name="one", text="Go."),
            "workflows/two.workflow.md": WF.format(name="two", text="Go."),
        }
    )
    untouched = p._workflow_files[(tmp_path / "workflows/two.workflow.md").resolve()]
    _touch_later(tmp_path / "workflows/one.workflow.md", WF.format(name="one", text="Changed."))
    assert p.refresh() == {"workflow:one"}
    assert p.workflows["one"].steps[0].instruction == "Changed."
    assert p._workflow_files[(tmp_path / "workflows/two.workflow.md").resolve()] is untouched


def test_skill_edit_reaches_agents_and_workflows(
    write_project: WriteProject, tmp_path: Path
) -> None:
    agent = "---\nname: analyst\nskills: [../skills/s.md]\n---\nPrompt.\n"
    p = write_project(
        {
            "skills/s.md": "Old skill.\n",
            "agents/analyst.agent.md": agent,
            "workflows/one.workflow.md": WF.format(name="one", text="Go."),
        }
    )
    _touch_later(tmp_path / "skills/s.md", "New skill.\n")
    changed = p.refresh()
    assert changed == {"agent:analyst", "workflow:one"}
    assert p.workflows["one"].agents["analyst"].skills[0].body == "New skill."


def test_new_and_deleted_files(write_project: WriteProject, tmp_path: Path) -> None:
    p = write_project({"workflows/one.workflow.md": WF.format(name="one", text="Go.")})
    (tmp_path / "workflows/two.workflow.md").write_text(WF.format(name="two", text="Go."))
    assert p.refresh() == {"workflow:two"}
    (tmp_path / "workflows/one.workflow.md").unlink()
    assert p.refresh() == {"workflow:one"}
    assert set(p.workflows) == {"two"}


def test_a_broken_edit_becomes_diagnostics_then_recovers(
    write_project: WriteProject, tmp_path: Path
) -> None:
    p = write_project({"workflows/one.workflow.md": WF.format(name="one", text="Go.")})
    path = tmp_path / "workflows/one.workflow.md"
    _touch_later(path, "---\nname: [one\n---\n")
    p.refresh()
    assert "one" not in p.workflows
    assert [d.code for d in p.diagnostics] == [Code.YAML_SYNTAX]
    _touch_later(path, WF.format(name="one", text="Fixed."))
    p.refresh()
    assert p.diagnostics == [] and p.workflows["one"].steps[0].instruction == "Fixed."


def test_workflow_lookup_explains_invalid_and_unknown(write_project: WriteProject) -> None:
    p = write_project({"workflows/one.workflow.md": WF.format(name="one", text="${Nope}")})
    with pytest.raises(DefinitionError) as invalid:
        p.workflow("one")
    assert [d.code for d in invalid.value.diagnostics] == [Code.UNDEFINED_VARIABLE]
    with pytest.raises(DefinitionError) as unknown:
        p.workflow("onee")
    assert unknown.value.diagnostics[0].code == Code.UNKNOWN_WORKFLOW


def test_hidden_state_folders_are_ignored(write_project: WriteProject, tmp_path: Path) -> None:
    junk = tmp_path / ".orchestra" / "workspaces" / "x"
    junk.mkdir(parents=True)
    (junk / "copy.workflow.md").write_text("garbage")
    p = write_project({})
    assert p.diagnostics == []


def test_duplicate_agent_names(write_project: WriteProject) -> None:
    p = write_project({"agents/other.agent.md": "---\nname: analyst\n---\nPrompt.\n"})
    assert [d.code for d in p.diagnostics] == [Code.DUPLICATE_AGENT]
