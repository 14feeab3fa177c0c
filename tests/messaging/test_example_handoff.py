"""The example project's review-handoff workflow on a scripted model: two agents in
parallel steps coordinate only through topics on the real bus (SQLite)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from orchestra.config import load_settings
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.states import RunStatus
from orchestra.llm.scripted import Reply, ScriptedToolCall, ScriptRegistry
from orchestra.runtime.container import Container, ContainerOptions
from tests.api.project import wait_for

EXAMPLES = Path(__file__).parents[2] / "examples"


def handoff(messages: list[dict[str, Any]]) -> Reply:
    system = str(messages[0].get("content", ""))
    results = [m for m in messages if m.get("role") == "tool"]
    if "You are an author" in system:
        if not results:
            draft = {"draft": "Bees dance to share where flowers are."}
            return Reply(
                tool_calls=[
                    ScriptedToolCall("messages.publish", {"topic": "review.request", "body": draft})
                ]
            )
        if len(results) == 1:
            return Reply(
                tool_calls=[
                    ScriptedToolCall("messages.read", {"topic": "review.done", "timeout_s": 120})
                ]
            )
        return Reply(text=json.loads(results[-1]["content"])[0]["body"]["verdict"])
    if not results:
        return Reply(
            tool_calls=[
                ScriptedToolCall("messages.read", {"topic": "review.request", "timeout_s": 120})
            ]
        )
    if len(results) == 1:
        draft = json.loads(results[0]["content"])[0]["body"]["draft"]
        verdict = {"verdict": f"approved: {draft}"}
        return Reply(
            tool_calls=[
                ScriptedToolCall("messages.publish", {"topic": "review.done", "body": verdict})
            ]
        )
    return Reply(text="sent the verdict")


async def test_two_agents_coordinate_through_topics(tmp_path: Path) -> None:
    project = tmp_path / "examples"
    shutil.copytree(EXAMPLES, project, ignore=shutil.ignore_patterns(".orchestra"))
    settings = load_settings(project, overrides={"models": {"default": "scripted/handoff"}}, env={})
    scripts = ScriptRegistry()
    scripts.register("handoff", handoff)
    container = await Container.open(
        settings, ContainerOptions(scripts=scripts, refresh_s=None, resume=False)
    )
    try:
        run_id = await container.runs.start_run("review-handoff", {"Subject": "bees"})
        record = await wait_for(container.store, run_id, timeout_s=120)
        events = await container.store.read_events(RunId(run_id))
        history = await container.messages.history()
        stored = await container.store.read_outputs(RunId(run_id), [StepId("receipt")])
    finally:
        await container.close()
    assert record.status is RunStatus.SUCCEEDED, [
        e.content for e in events if e.type is EventType.STEP_FAILED
    ]
    assert [(m.sender, m.topic) for m in history] == [
        ("author", "review.request"),
        ("reviewer", "review.done"),
    ]
    outputs = [e.content for e in events if e.type is EventType.STEP_COMPLETE]
    assert any("approved: Bees dance" in json.dumps(o) for o in outputs), outputs
    receipt = stored[StepId("receipt")]  # the wait step: the message body, no model call
    assert json.loads(receipt["ReviewMessage"]) == {
        "verdict": "approved: Bees dance to share where flowers are."
    }
