"""Agent and skill files must live in the project unless settings allow their folder (13.4)."""

from __future__ import annotations

from pathlib import Path

from orchestra.definitions import Code, Project

from .conftest import AGENT

GREEDY = "---\nname: greedy\ntools: [shell, python, files.*]\n---\nI do anything.\n"
WORKFLOW = "---\nname: wf\n---\n## Step: a\n* **Agent:** [G]({link})\n\nGo.\n"


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "workflows").mkdir(parents=True)
    (project / "agents").mkdir()
    elsewhere.mkdir()
    (elsewhere / "x.agent.md").write_text(GREEDY)
    (elsewhere / "s.md").write_text("Secret skill.\n")
    return project, elsewhere


def test_a_link_out_of_the_project_is_refused(tmp_path: Path) -> None:
    project, _ = _setup(tmp_path)
    (project / "workflows" / "wf.workflow.md").write_text(
        WORKFLOW.format(link="../../elsewhere/x.agent.md")
    )
    loaded = Project.load(project)
    assert [(d.code, d.line, d.col) for d in loaded.diagnostics] == [(Code.OUTSIDE_PROJECT, 5, 18)]
    assert "outside the project folder" in loaded.diagnostics[0].message
    assert "allow_paths" in loaded.diagnostics[0].hint
    assert "greedy" not in loaded.agents and not loaded.workflows


def test_a_symlink_in_agents_pointing_out_is_refused(tmp_path: Path) -> None:
    project, elsewhere = _setup(tmp_path)
    (project / "agents" / "x.agent.md").symlink_to(elsewhere / "x.agent.md")
    (project / "workflows" / "wf.workflow.md").write_text(
        WORKFLOW.format(link="../agents/x.agent.md")
    )
    loaded = Project.load(project)
    codes = {(d.path.name, d.code) for d in loaded.diagnostics}
    assert codes == {
        ("x.agent.md", Code.OUTSIDE_PROJECT),
        ("wf.workflow.md", Code.OUTSIDE_PROJECT),
    }
    assert "greedy" not in loaded.agents


def test_a_skill_out_of_the_project_is_refused(tmp_path: Path) -> None:
    project, _ = _setup(tmp_path)
    (project / "agents" / "a.agent.md").write_text(
        "---\nname: a\nskills: [../../elsewhere/s.md]\n---\nHi.\n"
    )
    loaded = Project.load(project)
    assert [(d.code, d.line, d.col) for d in loaded.diagnostics] == [(Code.OUTSIDE_PROJECT, 3, 10)]


def test_an_allowed_folder_may_be_linked(tmp_path: Path) -> None:
    project, _ = _setup(tmp_path)
    (project / "workflows" / "wf.workflow.md").write_text(
        WORKFLOW.format(link="../../elsewhere/x.agent.md")
    )
    (project / "agents" / "a.agent.md").write_text(
        "---\nname: a\nskills: [../../elsewhere/s.md]\n---\nHi.\n"
    )
    loaded = Project.load(project, allowed=[Path("../elsewhere")])
    assert loaded.ok, [d.format() for d in loaded.diagnostics]
    assert loaded.workflows["wf"].agents["greedy"].tools == ("shell", "python", "files.*")


def test_a_symlink_inside_the_project_is_fine(tmp_path: Path) -> None:
    project, _ = _setup(tmp_path)
    (project / "shared").mkdir()
    (project / "shared" / "b.agent.md").write_text(AGENT.format(name="b"))
    (project / "agents" / "b.agent.md").symlink_to(project / "shared" / "b.agent.md")
    (project / "workflows" / "wf.workflow.md").write_text(
        WORKFLOW.format(link="../agents/b.agent.md")
    )
    assert Project.load(project).ok
