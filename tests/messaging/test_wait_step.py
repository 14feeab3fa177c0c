"""``* **Wait for:** topic=…`` steps on the real Container (SQLite bus, scripted model):
the step's output is the message body, no model is called for it, a message published
earlier in the run (by another step's tool call) still counts, one from before the run
does not, and a wait that times out fails the step with a message saying what to do."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from orchestra.config import load_settings
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.states import RunStatus
from orchestra.llm.scripted import Reply, ScriptedToolCall, ScriptRegistry
from orchestra.runtime.container import Container, ContainerOptions
from tests.api.project import wait_for

AGENT = """---
name: {name}
model: scripted/{model}
tools: [{tools}]
---
You are {name}.
"""

HANDOFF = """---
name: handoff
---
## Step: ask
* **Agent:** publisher
* **Output:** ${Asked}

Ask for a review.

## Step: verdict
* **Agent:** waiter
* **Depends on:** ask
* **Wait for:** topic=review.*
* **Output:** ${Verdict}

## Step: final
* **Agent:** publisher
* **Input:** ${Verdict}
* **Output:** ${Final}

Summarise ${Verdict}.
"""

ALONE = """---
name: alone
---
## Step: verdict
* **Agent:** waiter
* **Wait for:** topic=review.done
* **Output:** ${Verdict}, ${Score}
"""

NEVER = """---
name: never
---
## Step: verdict
* **Agent:** waiter
* **Wait for:** topic=never.comes, timeout=1s
* **Output:** ${Verdict}
"""


def publisher(messages: list[dict[str, Any]]) -> Reply:
    if "Ask for a review" in str(messages[-1].get("content", "")):
        if not any(m.get("role") == "tool" for m in messages):
            body = {"verdict": "approved"}
            call = ScriptedToolCall("messages.publish", {"topic": "review.done", "body": body})
            return Reply(tool_calls=[call])
        return Reply(text="asked")
    return Reply(text="summary written")


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[tuple[Container, ScriptRegistry]]:
    root = tmp_path / "project"
    for name, model, tools in (
        ("publisher", "publisher", "messages.publish"),
        ("waiter", "nomodel", "files.read"),
    ):
        path = root / "agents" / f"{name}.agent.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(AGENT.format(name=name, model=model, tools=tools))
    (root / "workflows").mkdir()
    for name, text in (("handoff", HANDOFF), ("alone", ALONE), ("never", NEVER)):
        (root / "workflows" / f"{name}.workflow.md").write_text(text)
    scripts = ScriptRegistry()
    scripts.register("publisher", publisher)
    scripts.register("nomodel", [])  # any call would fail the step
    container = await Container.open(
        load_settings(root, env={}),
        ContainerOptions(scripts=scripts, refresh_s=None, resume=False),
    )
    try:
        yield container, scripts
    finally:
        await container.close()


def failures(events: list[Any]) -> list[Any]:
    return [e.content for e in events if e.type is EventType.STEP_FAILED]


async def test_a_message_published_earlier_in_the_run_is_the_steps_output(
    opened: tuple[Container, ScriptRegistry],
) -> None:
    container, scripts = opened
    run_id = await container.runs.start_run("handoff", {})
    record = await wait_for(container.store, run_id, timeout_s=120)
    events = await container.store.read_events(RunId(run_id))
    assert record.status is RunStatus.SUCCEEDED, failures(events)
    outputs = await container.store.read_outputs(RunId(run_id), [StepId("verdict")])
    assert json.loads(outputs[StepId("verdict")]["Verdict"]) == {"verdict": "approved"}
    assert scripts.calls("nomodel") == []
    assert [
        s.name for s in await container.messages.subscriptions() if s.name.startswith("wait.")
    ] == []


async def test_the_step_waits_live_and_ignores_messages_from_before_the_run(
    opened: tuple[Container, ScriptRegistry],
) -> None:
    container, scripts = opened
    bus = container.messages
    await bus.publish({"topic": "review.done", "body": {"Verdict": "stale", "Score": 1}})
    run_id = await container.runs.start_run("alone", {})
    name = f"wait.{run_id}.verdict"
    deadline = time.monotonic() + 120
    while name not in {s.name for s in await bus.subscriptions()}:  # the step is listening
        assert time.monotonic() < deadline, "the wait step never subscribed"
        await asyncio.sleep(0.05)
    await bus.publish({"topic": "review.done", "body": {"Verdict": "fresh", "Score": 9}})
    record = await wait_for(container.store, run_id, timeout_s=120)
    events = await container.store.read_events(RunId(run_id))
    assert record.status is RunStatus.SUCCEEDED, failures(events)
    outputs = await container.store.read_outputs(RunId(run_id), [StepId("verdict")])
    assert outputs[StepId("verdict")] == {"Verdict": "fresh", "Score": "9"}
    assert scripts.calls("nomodel") == []


async def test_a_wait_that_times_out_fails_the_step_saying_why(
    opened: tuple[Container, ScriptRegistry],
) -> None:
    container, _ = opened
    run_id = await container.runs.start_run("never", {})
    record = await wait_for(container.store, run_id, timeout_s=120)
    assert record.status is RunStatus.FAILED
    events = await container.store.read_events(RunId(run_id))
    text = json.dumps(failures(events))
    assert "no message on 'never.comes' within 1s" in text, text
