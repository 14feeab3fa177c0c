"""The agent file's ``tool_choice:``: accepted shapes and the errors users see."""

from __future__ import annotations

from orchestra.definitions import Code

from .conftest import WriteProject, only


def agent(front: str) -> dict[str, str]:
    return {"agents/analyst.agent.md": f"---\nname: analyst\n{front}---\nYou analyse.\n"}


def test_one_value_or_a_list_per_model_call(write_project: WriteProject) -> None:
    one = write_project(agent("tools: [files.*, shell]\ntool_choice: required\n"))
    assert one.diagnostics == []
    assert one.agents["analyst"].tool_choice == ("required",)
    listed = write_project(
        agent(
            "tools: [files.*, shell, notes.*]\ntool_choice: [shell, files.write, notes.add, none, auto]\n"
        )
    )
    assert listed.diagnostics == []
    assert listed.agents["analyst"].tool_choice == (
        "shell", "files.write", "notes.add", "none", "auto"
    )  # fmt: skip
    assert write_project(agent("tools: [shell]\n")).agents["analyst"].tool_choice == ()


def test_a_tool_the_agent_may_not_call_is_named_with_its_line(
    write_project: WriteProject,
) -> None:
    p = write_project(agent("tools: [files.read]\ntool_choice:\n  - files.read\n  - shell\n"))
    d = only(p.diagnostics)
    assert (d.code, d.line, d.col) == (Code.INVALID_VALUE, 6, 5)
    assert d.message == (
        "tool_choice 'shell' is neither auto, required, none nor one of the agent's tools "
        "(files.read)"
    )
    assert "files.read" in d.hint


def test_tool_choice_without_tools_or_of_the_wrong_shape(write_project: WriteProject) -> None:
    d = only(write_project(agent("tool_choice: required\n")).diagnostics)
    assert d.code == Code.INVALID_VALUE and d.line == 3
    assert d.message == "'tool_choice' is set but the agent has no 'tools'"
    d = only(write_project(agent("tools: [shell]\ntool_choice: {shell: 1}\n")).diagnostics)
    assert d.code == Code.INVALID_VALUE and d.line == 4
    assert "'tool_choice' must be auto, required, none, a tool name, or a list" in d.message
    assert "tool_choice: [shell, files.write, none]" in d.hint
