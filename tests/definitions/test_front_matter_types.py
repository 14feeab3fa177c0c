"""Front matter is type-checked: input fields and repeated keys (issue 13.5)."""

from __future__ import annotations

from orchestra.definitions import Code

from .conftest import WriteProject, only

BODY = "## Step: a\n* **Agent:** analyst\n\nDo ${Topic}.\n"


def wf(front: str) -> dict[str, str]:
    return {"workflows/wf.workflow.md": f"---\nname: wf\n{front}---\n{BODY}"}


def test_required_must_be_a_boolean(write_project: WriteProject) -> None:
    d = only(write_project(wf("inputs:\n  Topic: {required: maybe}\n")).diagnostics)
    assert (d.code, d.line, d.col) == (Code.INVALID_VALUE, 4, 3)
    assert d.message == "'required' of input 'Topic' must be true or false, not 'maybe'"


def test_list_and_mapping_defaults_are_rejected_not_stringified(
    write_project: WriteProject,
) -> None:
    p = write_project(wf("inputs:\n  Topic: [a, b]\n  Other: {default: {x: 1}}\n"))
    assert [(d.code, d.line) for d in p.diagnostics] == [
        (Code.INVALID_VALUE, 4),
        (Code.INVALID_VALUE, 5),
    ]
    assert "is a list; inputs are text" in p.diagnostics[0].message
    assert "is a mapping" in p.diagnostics[1].message


def test_scalar_defaults_become_text(write_project: WriteProject) -> None:
    p = write_project(wf("inputs:\n  Topic: {default: 3}\n  Flag: false\n"))
    assert p.ok, [d.format() for d in p.diagnostics]
    inputs = {i.name: i for i in p.workflows["wf"].inputs}
    assert (inputs["Topic"].default, inputs["Topic"].required) == ("3", False)
    assert inputs["Flag"].default == "false"


def test_a_repeated_front_matter_key_is_an_error(write_project: WriteProject) -> None:
    agent = "---\nname: a\ntools: [files.read]\nmodel: default\ntools: [shell]\n---\nHi.\n"
    d = only(write_project({"agents/a.agent.md": agent}).diagnostics)
    assert (d.code, d.line, d.col) == (Code.DUPLICATE_KEY, 5, 1)
    assert d.message == "'tools' is given twice (first on line 3)"


def test_a_repeated_nested_key_is_an_error(write_project: WriteProject) -> None:
    front = "inputs:\n  Topic: {required: true}\n  Topic: {default: x}\n"
    d = only(write_project(wf(front)).diagnostics)
    assert (d.code, d.line, d.col) == (Code.DUPLICATE_KEY, 5, 3)
