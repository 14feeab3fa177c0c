"""Every stored event of representative runs matches its documented shape.

Real container (SQLite, scripted models through the real gateway): a success,
a step with tool calls, an approval approved and one rejected, a cancel, a
failing model and a retried one. The shapes are ``orchestra.engine.event_schema``,
the same models docs/api.md documents.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestra.engine.event_schema import CONTENT, validate_event
from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.protocols import Decision
from orchestra.engine.states import RunStatus
from orchestra.llm.scripted import Reply, ScriptedToolCall
from orchestra.runtime.container import Container, ContainerOptions
from tests.api.project import AGENT, scripts, settings_for, wait_for, write_project

# litellm's router schedules a cooldown callback it never awaits when a deployment fails
# (the failing and retried runs do that on purpose): its warning, not ours.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:coroutine 'router_cooldown_event_callback' was never awaited:RuntimeWarning"
    ),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <coroutine object router_cooldown_event_callback"
        ":pytest.PytestUnraisableExceptionWarning"
    ),
]

ONE_STEP = """---
name: {name}
description: One step on the {agent} agent.
---
## Step: only
* **Agent:** [{agent}](../agents/{agent}.agent.md)
* **Output:** ${{Answer}}
{extra}
Answer.
"""


def _project(root: Path) -> Path:
    write_project(root)
    for agent in ("broken", "flaky", "tooly"):
        (root / "agents" / f"{agent}.agent.md").write_text(
            AGENT.format(name=agent, model=f"scripted/{agent}")
        )
    for name, agent, extra in (
        ("fails", "broken", ""),
        ("retries", "flaky", "* **Retries:** 1\n"),
        ("tools", "tooly", ""),
    ):
        (root / "workflows" / f"{name}.workflow.md").write_text(
            ONE_STEP.format(name=name, agent=agent, extra=extra)
        )
    (root / "notes.txt").write_text("notes\n")
    return root


@pytest.fixture
async def container(tmp_path: Path) -> AsyncIterator[Container]:
    registry = scripts()
    registry.register("broken", [Reply(fail="auth")], repeat_last=True)
    registry.register("flaky", [Reply(fail="unavailable")], repeat_last=True)
    registry.register(
        "tooly",
        [Reply(tool_calls=[ScriptedToolCall("files.read", {"path": "notes.txt"})]), Reply()],
    )
    opened = await Container.open(
        settings_for(_project(tmp_path / "project")),
        ContainerOptions(scripts=registry, refresh_s=None, grace_s=2),
    )
    try:
        yield opened
    finally:
        await opened.close()


def test_every_event_type_has_a_shape() -> None:
    assert set(CONTENT) == set(EventType)


async def _runs(container: Container) -> dict[str, RunId]:
    runs = container.runs
    made = {
        "success": await runs.start_run("pair", {"Topic": "owls"}),
        "tools": await runs.start_run("tools", {}),
        "failure": await runs.start_run("fails", {}),
        "retries": await runs.start_run("retries", {}),
        "approved": await runs.start_run("gated", {}),
        "rejected": await runs.start_run("gated", {}),
        "cancelled": await runs.start_run("busy", {}),
    }
    store = container.store
    decisions: tuple[tuple[str, Decision], ...] = (
        ("approved", "approved"),
        ("rejected", "rejected"),
    )
    for name, decision in decisions:
        await wait_for(store, made[name], RunStatus.WAITING)
        await runs.decide(made[name], StepId("act"), decision, "tester", f"{decision} by the test")
    await wait_for(store, made["cancelled"], RunStatus.RUNNING)
    await runs.cancel(made["cancelled"])
    for run_id in made.values():
        await wait_for(store, run_id, timeout_s=120)
    return made


async def test_every_stored_event_of_representative_runs_has_its_shape(
    container: Container,
) -> None:
    made = await _runs(container)
    seen: dict[str, list[ExecutionEvent]] = {}
    for name, run_id in made.items():
        events = await container.store.read_events(run_id)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        for event in events:
            validate_event(event)
        seen[name] = events
    statuses = {name: (await container.store.get_run(r)).status for name, r in made.items()}
    assert statuses == {
        "success": RunStatus.SUCCEEDED,
        "tools": RunStatus.SUCCEEDED,
        "failure": RunStatus.FAILED,
        "retries": RunStatus.FAILED,
        "approved": RunStatus.SUCCEEDED,
        "rejected": RunStatus.FAILED,
        "cancelled": RunStatus.CANCELLED,
    }
    kinds = {e.type for events in seen.values() for e in events}
    assert {EventType.TOOL_CALL, EventType.TOOL_RESULT, EventType.APPROVAL_REQUESTED} <= kinds
    assert any(e.type is EventType.ERROR and "retry_in_s" in e.content for e in seen["retries"])
    rejection = [e for e in seen["rejected"] if e.type is EventType.STEP_FAILED]
    assert rejection and isinstance(rejection[0].content["error"], dict)
    assert rejection[0].content["error"]["code"]


def test_a_plain_string_error_is_off_shape() -> None:
    """The regression of issue 13 point 15: ``error`` must be an object, never a string."""
    event = ExecutionEvent(
        EventType.STEP_FAILED,
        0.0,
        RunId("r1"),
        StepId("act"),
        3,
        {"status": "failed", "error": "rejected by tester", "will_retry": False},
    )
    with pytest.raises(ValueError, match="error"):
        validate_event(event)
