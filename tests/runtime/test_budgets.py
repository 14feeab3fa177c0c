"""Budgets end to end: real runs on the scripted model stop when a step's, an agent's or the
whole run's ``budget:`` is spent, with a ``budget_exceeded`` error stored and announced."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.states import RunStatus, StepStatus
from orchestra.runtime.container import Container
from tests.api.project import settings_for, wait_for, write_project

THRIFTY = """---
name: thrifty
model: scripted/echo
budget: {max_tokens: 2}
---
You answer tests.
"""


def chain(name: str, *, front: str = "", agent: str = "echo", first_bullet: str = "") -> str:
    parts = [f"---\nname: {name}\n{front}---\n"]
    for index in range(3):
        reads = f"* **Input:** ${{Out{index - 1}}}\n" if index else ""
        extra = first_bullet if index == 0 else ""
        parts.append(
            f"## Step: s{index}\n* **Agent:** [A](../agents/{agent}.agent.md)\n{reads}{extra}"
            f"* **Output:** ${{Out{index}}}\n\nStep {index} works on some words.\n\n"
        )
    return "".join(parts)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = write_project(tmp_path / "project")
    (root / "agents" / "thrifty.agent.md").write_text(THRIFTY)
    workflows = root / "workflows"
    (workflows / "run-budget.workflow.md").write_text(
        chain("run-budget", front="budget: 5 tokens\n")
    )
    (workflows / "step-budget.workflow.md").write_text(
        chain("step-budget", first_bullet="* **Budget:** 3 tokens\n")
    )
    (workflows / "agent-budget.workflow.md").write_text(chain("agent-budget", agent="thrifty"))
    (workflows / "roomy.workflow.md").write_text(
        chain("roomy", front="budget: 100000 tokens, $1\n")
    )
    return root


async def run(project: Path, workflow: str) -> tuple[Container, str]:
    container = await Container.open(settings_for(project))
    run_id = await container.runs.start_run(workflow, {})
    return container, run_id


async def test_the_workflow_budget_stops_the_run_once_its_steps_spent_it(project: Path) -> None:
    container, run_id = await run(project, "run-budget")
    try:
        record = await wait_for(container.store, run_id)
        events = await container.store.read_events(RunId(run_id))
    finally:
        await container.close()
    assert record.status is RunStatus.FAILED
    # s0 ran (its usage crossed the budget), the rest never started.
    assert record.steps[StepId("s0")].status is StepStatus.SUCCEEDED
    assert record.steps[StepId("s1")].status is StepStatus.CANCELLED
    assert record.steps[StepId("s2")].status is StepStatus.CANCELLED
    assert record.usage.total_tokens > 5
    assert record.error is not None and record.error["code"] == "budget_exceeded"
    assert record.error["what"] == "tokens" and record.error["limit"] == 5
    assert "raise `budget:`" in record.error["message"]
    errors = [e for e in events if e.type is EventType.ERROR]
    assert [e.content["code"] for e in errors] == ["budget_exceeded"]
    finished = events[-1]
    assert finished.type is EventType.RUN_FINISHED
    assert finished.content["error"]["code"] == "budget_exceeded"
    assert not any(e.type is EventType.STEP_STARTED and e.step_id == "s1" for e in events)


async def test_a_step_budget_fails_that_step_without_a_retry(project: Path) -> None:
    container, run_id = await run(project, "step-budget")
    try:
        record = await wait_for(container.store, run_id)
    finally:
        await container.close()
    assert record.status is RunStatus.FAILED
    s0 = record.steps[StepId("s0")]
    assert s0.status is StepStatus.FAILED and s0.attempt == 1
    assert s0.error is not None
    assert (s0.error["code"], s0.error["scope"], s0.error["limit"]) == (
        "budget_exceeded",
        "step",
        3,
    )
    assert s0.error["retryable"] is False
    assert "* **Budget:**" in s0.error["message"]


async def test_an_agent_budget_applies_to_each_step_of_that_agent(project: Path) -> None:
    container, run_id = await run(project, "agent-budget")
    try:
        record = await wait_for(container.store, run_id)
    finally:
        await container.close()
    assert record.status is RunStatus.FAILED
    s0 = record.steps[StepId("s0")]
    assert s0.error is not None
    assert (s0.error["code"], s0.error["scope"], s0.error["limit"]) == (
        "budget_exceeded",
        "agent",
        2,
    )
    assert "agent's front matter" in s0.error["message"]
    assert record.steps[StepId("s1")].status is StepStatus.CANCELLED


async def test_a_run_within_its_budget_succeeds(project: Path) -> None:
    container, run_id = await run(project, "roomy")
    try:
        record = await wait_for(container.store, run_id)
    finally:
        await container.close()
    assert record.status is RunStatus.SUCCEEDED
    assert record.error is None
