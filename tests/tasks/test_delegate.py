"""``delegate`` end to end: a step of agent ``lead`` hands a sub-task to ``helper``
through the task queue; the sub-task runs on the same engine (scripted models, SQLite),
records its parent step, and ``lead`` gets ``helper``'s result back in its answer."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from orchestra.config import load_settings
from orchestra.engine.ids import RunId
from orchestra.engine.states import RunStatus
from orchestra.llm.scripted import Reply, ScriptedToolCall, ScriptRegistry
from orchestra.runtime.container import Container, ContainerOptions
from orchestra.tasks import TaskDraft, TaskStatus

LEAD = """---
name: lead
model: scripted/lead
capabilities: [planning]
tools: [delegate, delegate.result, files.read]
---
You split work and hand parts to others.
"""

HELPER = """---
name: helper
model: scripted/helper
capabilities: [counting]
complexity: [1, 3]
tools: [files.write]
---
You count things.
"""

WORKFLOW = """---
name: plan
---
## Step: split
* **Agent:** [Lead](../agents/lead.agent.md)
* **Output:** ${Plan}

Plan the work; delegate the counting.
"""


def _tool_results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("role") == "tool"]


def _lead_script(delegate_args: dict[str, Any]) -> Any:
    """First call: delegate; then answer with what the tool returned (JSON data)."""

    def script(messages: list[dict[str, Any]]) -> Reply:
        results = _tool_results(messages)
        if not results:
            return Reply(tool_calls=[ScriptedToolCall("delegate", delegate_args)])
        return Reply(text="lead got: " + str(results[-1]["content"]))

    return script


def _project(root: Path) -> Path:
    (root / "agents").mkdir(parents=True)
    (root / "workflows").mkdir()
    (root / "orchestra.toml").write_text(
        '[models]\ndefault = "scripted/echo"\n\n[tasks]\npoll_seconds = 0.2\nvenv = false\n'
    )
    (root / "agents" / "lead.agent.md").write_text(LEAD)
    (root / "agents" / "helper.agent.md").write_text(HELPER)
    (root / "workflows" / "plan.workflow.md").write_text(WORKFLOW)
    return root


@pytest.fixture
def scripts() -> ScriptRegistry:
    registry = ScriptRegistry()
    registry.register("helper", [Reply(text="there are 42 bees")], repeat_last=True)
    return registry


@pytest.fixture
async def container(tmp_path: Path, scripts: ScriptRegistry) -> AsyncIterator[Container]:
    root = _project(tmp_path / "team")
    opened = await Container.open(
        load_settings(root, env={}),
        ContainerOptions(refresh_s=None, scripts=scripts, dispatch=True),
    )
    try:
        yield opened
    finally:
        await opened.close()


@pytest.mark.parametrize(
    "target",
    [{"agent": "helper"}, {"capabilities": ["counting"], "complexity": 2}],
    ids=["by-name", "by-capability"],
)
async def test_a_step_delegates_to_another_agent_and_gets_its_result(
    container: Container, scripts: ScriptRegistry, target: dict[str, Any]
) -> None:
    scripts.register(
        "lead",
        _lead_script({"title": "Count the bees", "description": "In the garden.", **target}),
    )
    run_id = await container.runs.start_run("plan", {})
    record = await container.runs.wait(run_id)
    assert record.status is RunStatus.SUCCEEDED, record.error

    # The lead's answer carries the helper's result, so it came back through the tool.
    plan = record.steps["split"].outputs["Plan"]
    assert "there are 42 bees" in plan

    # The child is a task of the queue, taken by helper, pinned to its parent step.
    children = [t for t in await container.tasks.tasks.list() if t.parent_run_id == run_id]
    assert len(children) == 1
    child = children[0]
    # The run page asks for exactly these (GET /tasks?parent_run=): a user's task is not one.
    await container.tasks.create(TaskDraft(title="Unrelated"), by="someone")
    assert [t.id for t in await container.tasks.tasks.list(parent_run=run_id)] == [child.id]
    assert child.status is TaskStatus.COMPLETE
    assert child.agent == "helper"
    assert child.parent_step_id == "split"
    assert child.created_by == "agent:lead"
    assert child.assignee == target.get("agent")
    assert child.run_id is not None and child.run_id != run_id
    child_run = await container.runs.store.get_run(RunId(child.run_id))
    assert child_run.status is RunStatus.SUCCEEDED
    # helper's model saw the sub-task's title and description.
    seen = json.dumps(scripts.calls("helper")[0])
    assert "Count the bees" in seen and "In the garden." in seen

    # The parent step's events name the child task (what the run page and DAG show).
    events = await container.store.read_events(run_id)
    named = [e for e in events if e.content.get("kind") == "delegated"]
    assert len(named) == 1
    assert named[0].step_id == "split"
    assert named[0].content["task_id"] == child.id
    ended = [e for e in events if e.content.get("kind") == "delegation_ended"]
    assert ended and ended[0].content["status"] == "complete"


async def test_without_wait_the_task_id_comes_back_and_result_reads_it_later(
    container: Container, scripts: ScriptRegistry
) -> None:
    def lead(messages: list[dict[str, Any]]) -> Reply:
        results = _tool_results(messages)
        if not results:
            args = {"agent": "helper", "title": "Count later", "wait": False}
            return Reply(tool_calls=[ScriptedToolCall("delegate", args)])
        content = str(results[-1]["content"])
        if len(results) == 1:
            found = re.search(r"task ([0-9a-f]+) is (queued|assigned)", content)
            assert found, content
            args = {"task_id": found.group(1), "wait_seconds": 120}
            return Reply(tool_calls=[ScriptedToolCall("delegate.result", args)])
        return Reply(text="later: " + content)

    scripts.register("lead", lead)
    run_id = await container.runs.start_run("plan", {})
    record = await container.runs.wait(run_id)
    assert record.status is RunStatus.SUCCEEDED, record.error
    assert "later: there are 42 bees" in record.steps["split"].outputs["Plan"]


async def test_bad_delegations_are_errors_the_model_reads(
    container: Container, scripts: ScriptRegistry
) -> None:
    calls = [
        {"title": "Nobody named"},  # neither agent nor capabilities
        {"title": "Myself", "agent": "lead"},
    ]

    def lead(messages: list[dict[str, Any]]) -> Reply:
        results = _tool_results(messages)
        if len(results) < len(calls):
            return Reply(tool_calls=[ScriptedToolCall("delegate", calls[len(results)])])
        if len(results) == len(calls):  # someone else's (an unknown) task id
            return Reply(tool_calls=[ScriptedToolCall("delegate.result", {"task_id": "nope"})])
        return Reply(text=" | ".join(str(r["content"]) for r in results))

    scripts.register("lead", lead)
    run_id = await container.runs.start_run("plan", {})
    record = await container.runs.wait(run_id)
    assert record.status is RunStatus.SUCCEEDED, record.error
    answer = record.steps["split"].outputs["Plan"]
    assert "name the agent or the capabilities" in answer
    assert "cannot delegate to yourself" in answer
    assert "nope" in answer
    assert not [t for t in await container.tasks.tasks.list() if t.parent_run_id == run_id]


async def test_a_task_for_an_unknown_agent_waits_saying_so(
    container: Container, scripts: ScriptRegistry
) -> None:
    def lead(messages: list[dict[str, Any]]) -> Reply:
        if not _tool_results(messages):
            args = {"agent": "ghost", "title": "Haunt", "wait": False}
            return Reply(tool_calls=[ScriptedToolCall("delegate", args)])
        return Reply(text=str(_tool_results(messages)[-1]["content"]))

    scripts.register("lead", lead)
    run_id = await container.runs.start_run("plan", {})
    assert (await container.runs.wait(run_id)).status is RunStatus.SUCCEEDED
    (child,) = [t for t in await container.tasks.tasks.list() if t.parent_run_id == run_id]
    await container.tasks.run_once()
    child = await container.tasks.tasks.get(child.id)
    assert child.status is TaskStatus.QUEUED
    assert child.wait_reason == "agent 'ghost' is not registered"
    # helper, though free, never takes a task pinned to another agent.
    assert not scripts.calls("helper")


async def test_a_delegated_task_works_in_its_parents_workspace(
    container: Container, scripts: ScriptRegistry
) -> None:
    """The child's run links to the parent run's folder: what helper writes there,
    lead reads back with files.read in the step that delegated."""
    scripts.register(
        "helper",
        [
            Reply(
                tool_calls=[
                    ScriptedToolCall(
                        "files.write", {"path": "output/count.txt", "content": "42 bees\n"}
                    )
                ]
            ),
            Reply(text="wrote output/count.txt"),
        ],
    )

    def lead(messages: list[dict[str, Any]]) -> Reply:
        results = _tool_results(messages)
        if not results:
            args = {"agent": "helper", "title": "Count into a file"}
            return Reply(tool_calls=[ScriptedToolCall("delegate", args)])
        if len(results) == 1:
            return Reply(tool_calls=[ScriptedToolCall("files.read", {"path": "output/count.txt"})])
        return Reply(text="file says: " + str(results[-1]["content"]))

    scripts.register("lead", lead)
    run_id = await container.runs.start_run("plan", {})
    record = await container.runs.wait(run_id)
    assert record.status is RunStatus.SUCCEEDED, record.error
    assert "file says: 42 bees" in record.steps["split"].outputs["Plan"]
    (child,) = [t for t in await container.tasks.tasks.list() if t.parent_run_id == run_id]
    root = container.settings.workspaces.root
    assert child.run_id is not None
    assert (root / child.run_id).resolve() == (root / run_id).resolve()
