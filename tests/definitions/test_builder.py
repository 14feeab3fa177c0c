"""Workflows built from drafts with no file (the planner's and tasks' path, issue 12.9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra.definitions import Code, DefinitionError
from orchestra.definitions.builder import StepDraft, WorkflowDraft, build_workflow, check_workflow
from orchestra.definitions.specs import AgentSpec, InputSpec

AGENTS = {
    name: AgentSpec(name=name, system_prompt=f"You are {name}.", path=Path(f"{name}.agent.md"))
    for name in ("analyst", "writer")
}


def test_a_workflow_from_drafts_needs_no_file() -> None:
    draft = WorkflowDraft(
        name="plan",
        inputs=(InputSpec(name="Topic", required=True),),
        steps=[
            StepDraft("research", "analyst", "Research ${Topic}.", writes=["Notes"]),
            StepDraft(
                "write",
                AGENTS["writer"],
                "Write from ${Notes}.",
                writes=["Text"],
                options={"retries": 2, "timeout_s": 30.0},
            ),
            StepDraft("review", "analyst", "Check it.", depends_on=["write"]),
        ],
    )
    spec = build_workflow(draft, AGENTS, "planner")
    assert spec.path is None
    assert spec.layers() == [["research"], ["write"], ["review"]]
    assert spec.step("write").dependencies == ("research",)
    assert spec.step("write").retries == 2
    assert spec.step("research").input_vars == ("Topic",)
    assert set(spec.agents) == {"analyst", "writer"}


def test_errors_are_located_in_the_draft_and_name_the_source() -> None:
    draft = WorkflowDraft(
        name="plan",
        steps=[
            StepDraft("a", "anlyst", "Use ${Missing}.", line=3, col=5),
            StepDraft("b", "writer", "", depends_on={"c": (9, 2)}, line=8),
            StepDraft("b", "writer", "Again.", line=12),
            StepDraft("d", None, "Do.", options={"retries": 99}, line=14),
        ],
    )
    with pytest.raises(DefinitionError) as caught:
        build_workflow(draft, AGENTS, "planner")
    found = {(d.code, d.line, d.col) for d in caught.value.diagnostics}
    assert found == {
        (Code.UNKNOWN_AGENT, 3, 5),
        (Code.UNDEFINED_VARIABLE, 3, 5),
        (Code.EMPTY_INSTRUCTION, 8, 1),
        (Code.UNKNOWN_STEP, 9, 2),
        (Code.DUPLICATE_STEP_ID, 12, 1),
        (Code.MISSING_AGENT, 14, 1),
        (Code.INVALID_VALUE, 14, 1),
    }
    assert {str(d.path) for d in caught.value.diagnostics} == {"<planner>"}
    unknown = next(d for d in caught.value.diagnostics if d.code is Code.UNKNOWN_AGENT)
    assert unknown.hint.startswith("did you mean 'analyst'?")
    assert unknown.format().startswith("<planner>:3:5: error: unknown agent 'anlyst'")


def test_a_cycle_between_drafts_is_reported() -> None:
    draft = WorkflowDraft(
        name="loop",
        steps=[
            StepDraft("a", "analyst", "Use ${Y}.", writes=["X"]),
            StepDraft("b", "writer", "Use ${X}.", writes=["Y"]),
        ],
    )
    spec, found = check_workflow(draft, AGENTS)
    assert spec is None
    assert [d.code for d in found] == [Code.CYCLE]
    assert str(found[0].path) == "<workflow loop>"


def test_unknown_option_and_no_steps() -> None:
    _, found = check_workflow(
        WorkflowDraft("w", [StepDraft("a", "analyst", "Go.", options={"retry": 1})]), AGENTS
    )
    assert [(d.code, d.hint.split("?")[0]) for d in found] == [
        (Code.UNKNOWN_FIELD, "did you mean 'retries'")
    ]
    _, found = check_workflow(WorkflowDraft("w", []), AGENTS)
    assert [d.code for d in found] == [Code.NO_STEPS]
