"""Files that are not clean UTF-8 text: located errors, never tracebacks (issue 13.2, 13.3, 13.5)."""

from __future__ import annotations

import codecs
from pathlib import Path

from orchestra.definitions import Code, Project
from orchestra.definitions.workflow_file import read_workflow

from .conftest import AGENT, only

WORKFLOW = "---\nname: wf\n---\n## Step: a\n* **Agent:** analyst\n\nSay hello.\n"


def _project(tmp_path: Path, files: dict[str, bytes]) -> Project:
    defaults = {"agents/analyst.agent.md": AGENT.format(name="analyst").encode()}
    for rel, data in {**defaults, **files}.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return Project.load(tmp_path)


def test_latin1_workflow_is_a_located_encoding_error(tmp_path: Path) -> None:
    text = WORKFLOW.replace("Say hello.", "Say caf\u00e9.").encode("latin-1")
    project = _project(tmp_path, {"workflows/wf.workflow.md": text})
    d = only(project.diagnostics)
    assert (d.code, d.line, d.col) == (Code.ENCODING, 7, 8)
    assert d.path.name == "wf.workflow.md"
    assert "not UTF-8" in d.message and "0xe9" in d.message
    assert "UTF-8" in d.hint


def test_latin1_agent_and_skill_files_are_located_errors(tmp_path: Path) -> None:
    agent = "---\nname: writer\nskills: [../skills/s.md]\n---\nYou are na\u00efve.\n"
    project = _project(
        tmp_path,
        {
            "agents/writer.agent.md": agent.encode("latin-1"),
            "agents/other.agent.md": b"---\nname: other\nskills: [../skills/s.md]\n---\nHi.\n",
            "skills/s.md": "R\u00e9sum\u00e9s.\n".encode("cp1252"),
        },
    )
    codes = {(d.path.name, d.code, d.line) for d in project.diagnostics}
    assert codes == {("writer.agent.md", Code.ENCODING, 5), ("s.md", Code.ENCODING, 1)}


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        {
            "workflows/wf.workflow.md": codecs.BOM_UTF8 + WORKFLOW.encode(),
            "agents/analyst.agent.md": codecs.BOM_UTF8 + AGENT.format(name="analyst").encode(),
        },
    )
    assert project.ok, [d.format() for d in project.diagnostics]
    assert project.workflows["wf"].steps[0].instruction == "Say hello."
    assert project.agents["analyst"].system_prompt == "You are analyst."


def test_nul_byte_in_an_instruction_is_rejected_with_its_place(tmp_path: Path) -> None:
    text = WORKFLOW.replace("Say hello.", "Say \x00hello.").encode()
    d = only(_project(tmp_path, {"workflows/wf.workflow.md": text}).diagnostics)
    assert (d.code, d.line, d.col) == (Code.INVALID_CHARACTER, 7, 5)


def test_nul_byte_in_text_given_directly_is_rejected(tmp_path: Path) -> None:
    raw = read_workflow(tmp_path / "x.workflow.md", "\ufeff" + WORKFLOW.replace("hello", "\x00"))
    assert [d.code for d in raw.diagnostics] == [Code.INVALID_CHARACTER]
