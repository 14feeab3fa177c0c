"""One test per error class: the exact code, line, column and message a user sees."""

from __future__ import annotations

from orchestra.definitions import Code

from .conftest import WriteProject, only

HEAD = "---\nname: wf\ninputs:\n  Topic: {required: true}\n---\n"


def wf(body: str) -> dict[str, str]:
    return {"workflows/wf.workflow.md": HEAD + body}


def test_link_to_missing_agent_file_names_the_closest_file(write_project: WriteProject) -> None:
    p = write_project(
        wf("## Step: a\n* **Agent:** [A](../agents/analist.agent.md)\n\nDo ${Topic}.\n")
    )
    d = only(p.diagnostics)
    assert (d.code, d.line, d.col) == (Code.MISSING_FILE, 7, 18)
    assert d.message == "agent file '../agents/analist.agent.md' not found"
    assert "did you mean 'analyst.agent.md'?" in d.hint


def test_unknown_agent_name_suggests_the_closest(write_project: WriteProject) -> None:
    p = write_project(wf("## Step: a\n* **Agent:** anlyst\n\nDo ${Topic}.\n"))
    d = only(p.diagnostics)
    assert (d.code, d.line, d.col) == (Code.UNKNOWN_AGENT, 7, 14)
    assert d.message == "unknown agent 'anlyst'"
    assert d.hint.startswith("did you mean 'analyst'?")
    assert "analyst, writer" in d.hint


def test_missing_step_id(write_project: WriteProject) -> None:
    p = write_project(wf("## Step:\n* **Agent:** analyst\n\nDo ${Topic}.\n"))
    d = only(p.diagnostics)
    assert (d.code, d.line) == (Code.MISSING_STEP_ID, 6)
    assert d.message == "step heading has no id"


def test_duplicate_step_id_points_at_the_second_and_names_the_first(
    write_project: WriteProject,
) -> None:
    body = "## Step: a\n* **Agent:** analyst\n\nOne.\n\n## Step: a\n* **Agent:** writer\n\nTwo.\n"
    d = only(write_project(wf(body)).diagnostics)
    assert (d.code, d.line, d.col) == (Code.DUPLICATE_STEP_ID, 11, 10)
    assert d.message == "step id 'a' is already used on line 6"


def test_cycle_prints_the_cycle(write_project: WriteProject) -> None:
    body = (
        "## Step: a\n* **Agent:** analyst\n* **Input:** ${Y}\n* **Output:** ${X}\n\nUse ${Y}.\n\n"
        "## Step: b\n* **Agent:** writer\n* **Input:** ${X}\n* **Output:** ${Y}\n\nUse ${X}.\n"
    )
    d = only(write_project(wf(body)).diagnostics)
    assert d.code == Code.CYCLE
    assert d.message in (
        "dependency cycle: a -> b -> a (each step waits for the next)",
        "dependency cycle: b -> a -> b (each step waits for the next)",
    )
    assert d.line in (6, 13)


def test_self_dependency_is_a_cycle(write_project: WriteProject) -> None:
    body = "## Step: a\n* **Agent:** analyst\n* **Depends on:** a\n\nDo ${Topic}.\n"
    d = only(write_project(wf(body)).diagnostics)
    assert d.code == Code.CYCLE
    assert d.message.startswith("dependency cycle: a -> a")


def test_variable_read_but_never_written(write_project: WriteProject) -> None:
    body = "## Step: a\n* **Agent:** analyst\n* **Input:** ${Topik}\n\nDo it.\n"
    d = only(write_project(wf(body)).diagnostics)
    assert (d.code, d.line, d.col) == (Code.UNDEFINED_VARIABLE, 8, 14)
    assert d.message == (
        "variable ${Topik} is read by step 'a' but no step writes it and it is not a workflow input"
    )
    assert d.hint.startswith("did you mean 'Topic'?")


def test_variable_in_instruction_counts_as_a_read(write_project: WriteProject) -> None:
    body = "## Step: a\n* **Agent:** analyst\n\nFirst line.\nUse ${Nothing} here.\n"
    d = only(write_project(wf(body)).diagnostics)
    assert (d.code, d.line, d.col) == (Code.UNDEFINED_VARIABLE, 10, 5)


def test_output_written_by_two_steps(write_project: WriteProject) -> None:
    body = (
        "## Step: a\n* **Agent:** analyst\n* **Output:** ${R}\n\nDo ${Topic}.\n\n"
        "## Step: b\n* **Agent:** writer\n* **Output:** ${R}\n\nDo ${Topic}.\n"
    )
    d = only(write_project(wf(body)).diagnostics)
    assert (d.code, d.line, d.col) == (Code.DUPLICATE_OUTPUT, 14, 15)
    assert d.message == "output ${R} is already written by step 'a' (line 8)"


def test_unknown_bullet_suggests_the_field(write_project: WriteProject) -> None:
    body = "## Step: a\n* **Agent:** analyst\n* **Dependson:** b\n\nDo ${Topic}.\n"
    d = only(write_project(wf(body)).diagnostics)
    assert (d.code, d.line, d.col) == (Code.UNKNOWN_BULLET, 8, 5)
    assert d.message == "unknown step field 'Dependson'"
    assert d.hint.startswith("did you mean 'Depends on'?")


def test_unknown_front_matter_field_suggests_the_field(write_project: WriteProject) -> None:
    agent = "---\nname: analyst\nmodle: gpt-4\n---\nPrompt.\n"
    d = only(write_project({"agents/analyst.agent.md": agent}).diagnostics)
    assert (d.code, d.line, d.col) == (Code.UNKNOWN_FIELD, 3, 1)
    assert d.message == "unknown field 'modle' in agent front matter"
    assert d.hint.startswith("did you mean 'model'?")


def test_malformed_yaml_is_mapped_to_the_file_line(write_project: WriteProject) -> None:
    agent = "---\nname: analyst\ndescription: 'unclosed\ntools: [a]\n---\nPrompt.\n"
    d = only(write_project({"agents/analyst.agent.md": agent}).diagnostics)
    assert (d.code, d.line, d.col) == (Code.YAML_SYNTAX, 3, 14)
    assert d.message.startswith("malformed YAML in front matter: while scanning a quoted scalar")


def test_bad_indentation_yaml_line(write_project: WriteProject) -> None:
    text = "---\nname: wf\ninputs:\n  A: 1\n B: 2\n---\n## Step: a\n* **Agent:** analyst\n\nx\n"
    d = only(write_project({"workflows/wf.workflow.md": text}).diagnostics)
    assert d.code == Code.YAML_SYNTAX
    assert d.line == 5


def test_empty_instruction(write_project: WriteProject) -> None:
    body = "## Step: a\n* **Agent:** analyst\n* **Output:** ${R}\n"
    d = only(write_project(wf(body)).diagnostics)
    assert (d.code, d.line, d.col) == (Code.EMPTY_INSTRUCTION, 6, 10)
    assert d.message == "step 'a' has no instruction"


def test_bad_temperature(write_project: WriteProject) -> None:
    agent = "---\nname: analyst\ntemperature: 3.5\n---\nPrompt.\n"
    d = only(write_project({"agents/analyst.agent.md": agent}).diagnostics)
    assert (d.code, d.line, d.col) == (Code.INVALID_VALUE, 3, 14)
    assert d.message == (
        "invalid value 3.5 for 'temperature': input should be less than or equal to 2"
    )
    assert d.hint == "use a number from 0 to 2, e.g. 'temperature: 0.2'"


def test_bad_retries(write_project: WriteProject) -> None:
    body = "## Step: a\n* **Agent:** analyst\n* **Retries:** lots\n\nDo ${Topic}.\n"
    d = only(write_project(wf(body)).diagnostics)
    assert (d.code, d.line, d.col) == (Code.INVALID_VALUE, 8, 16)
    assert d.message.startswith("invalid value 'lots' for 'Retries'")


def test_bad_timeout(write_project: WriteProject) -> None:
    body = "## Step: a\n* **Agent:** analyst\n* **Timeout:** soon\n\nDo ${Topic}.\n"
    d = only(write_project(wf(body)).diagnostics)
    assert (d.code, d.line, d.col) == (Code.INVALID_VALUE, 8, 16)
    assert d.message == "invalid value 'soon' for 'Timeout': not a positive duration"
    assert d.hint == "write a duration such as 30s, 5m or 1h"


def test_unknown_explicit_dependency(write_project: WriteProject) -> None:
    body = "## Step: a\n* **Agent:** analyst\n* **Depends on:** bb\n\nDo ${Topic}.\n\n"
    body += "## Step: b\n* **Agent:** writer\n\nDo ${Topic}.\n"
    d = only(write_project(wf(body)).diagnostics)
    assert (d.code, d.line, d.col) == (Code.UNKNOWN_STEP, 8, 19)
    assert d.message == "step 'a' depends on unknown step 'bb'"


def test_missing_skill_file(write_project: WriteProject) -> None:
    agent = "---\nname: analyst\nskills:\n  - ../skills/nope.md\n---\nPrompt.\n"
    d = only(write_project({"agents/analyst.agent.md": agent}).diagnostics)
    assert (d.code, d.line, d.col) == (Code.MISSING_FILE, 4, 5)
    assert d.message == "skill file '../skills/nope.md' not found"


def test_step_without_agent(write_project: WriteProject) -> None:
    body = "## Step: a\n* **Output:** ${R}\n\nDo ${Topic}.\n"
    d = only(write_project(wf(body)).diagnostics)
    assert (d.code, d.line) == (Code.MISSING_AGENT, 6)


def test_non_step_heading(write_project: WriteProject) -> None:
    body = "## Stpe: a\n* **Agent:** analyst\n\nDo ${Topic}.\n"
    d = only(write_project(wf(body)).diagnostics)
    assert (d.code, d.line) == (Code.BAD_HEADING, 6)
    assert d.hint.startswith("did you mean 'Step'?")


def test_unclosed_front_matter(write_project: WriteProject) -> None:
    d = only(write_project({"agents/analyst.agent.md": "---\nname: analyst\n"}).diagnostics)
    assert (d.code, d.line) == (Code.FRONT_MATTER, 1)


def test_all_errors_are_collected_not_just_the_first(write_project: WriteProject) -> None:
    body = (
        "## Step: a\n* **Agent:** nobody\n* **Timeout:** never\n* **Retires:** 2\n\nUse ${Nope}.\n"
    )
    p = write_project(wf(body))
    codes = sorted(d.code.value for d in p.diagnostics)
    assert codes == ["invalid-value", "undefined-variable", "unknown-agent", "unknown-bullet"]


def test_invalid_agent_is_reported_once_and_blames_the_workflow_link(
    write_project: WriteProject,
) -> None:
    agent = "---\nname: analyst\ntemperature: -1\n---\nPrompt.\n"
    body = "## Step: a\n* **Agent:** [A](../agents/analyst.agent.md)\n\nDo ${Topic}.\n"
    p = write_project({"agents/analyst.agent.md": agent, **wf(body)})
    by_file = sorted((d.path.name, d.code.value) for d in p.diagnostics)
    assert by_file == [("analyst.agent.md", "invalid-value"), ("wf.workflow.md", "unknown-agent")]


def test_formatted_like_a_compiler(write_project: WriteProject) -> None:
    p = write_project(wf("## Step: a\n* **Agent:** anlyst\n\nDo ${Topic}.\n"))
    text = p.diagnostics[0].format(relative_to=p.root)
    assert text.splitlines()[0] == "workflows/wf.workflow.md:7:14: error: unknown agent 'anlyst'"
    assert text.splitlines()[1].startswith("  hint: did you mean 'analyst'?")
