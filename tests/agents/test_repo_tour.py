"""End to end through the engine: the examples' repo-tour workflow on a scripted model.

Real container (SQLite store, engine, gateway, built-in tools, the checklist MCP
server as a subprocess); only the model is scripted.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from orchestra.config import load_settings
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId
from orchestra.engine.states import RunStatus
from orchestra.llm.scripted import Reply, ScriptedToolCall, ScriptRegistry
from orchestra.runtime.container import Container, ContainerOptions
from tests.api.project import wait_for

EXAMPLES = Path(__file__).parents[2] / "examples"


def tour(messages: list[dict[str, Any]]) -> Reply:
    """Explorer: ls + write notes, then summarise. Guide: read notes + add, show, answer."""
    system = str(messages[0].get("content", ""))
    results = [m for m in messages if m.get("role") == "tool"]
    if "explore a folder" in system:
        if not results:
            return Reply(
                tool_calls=[
                    ScriptedToolCall("shell", {"argv": ["ls"]}),
                    ScriptedToolCall(
                        "files.write", {"path": "research/notes.md", "content": "src/ holds code"}
                    ),
                ]
            )
        return Reply(text="notes: " + results[0]["content"].replace("\n", " "))
    if not results:
        return Reply(
            tool_calls=[
                ScriptedToolCall("files.read", {"path": "research/notes.md"}),
                ScriptedToolCall("checklist.add", {"text": "look at src/"}),
            ]
        )
    if len(results) == 2:
        return Reply(tool_calls=[ScriptedToolCall("checklist.show", {})])
    return Reply(text=results[-1]["content"])


async def test_repo_tour_runs_to_success_with_tool_events(tmp_path: Path) -> None:
    project = tmp_path / "examples"
    shutil.copytree(EXAMPLES, project, ignore=shutil.ignore_patterns(".orchestra"))
    settings = load_settings(project, overrides={"models": {"default": "scripted/tour"}}, env={})
    scripts = ScriptRegistry()
    scripts.register("tour", tour)
    container = await Container.open(
        settings, ContainerOptions(scripts=scripts, refresh_s=None, resume=False)
    )
    try:
        run_id = await container.runs.start_run("repo-tour", {})
        record = await wait_for(container.store, run_id, timeout_s=60)
        events = await container.store.read_events(RunId(run_id))
    finally:
        await container.close()
    assert record.status is RunStatus.SUCCEEDED, [
        e.content for e in events if e.type is EventType.STEP_FAILED
    ]
    calls = [e.content for e in events if e.type is EventType.TOOL_CALL]
    results = [e.content for e in events if e.type is EventType.TOOL_RESULT]
    assert {c["tool"] for c in calls} == {
        "shell", "files.write", "files.read", "checklist.add", "checklist.show"
    }  # fmt: skip
    assert all(r["status"] == "ok" for r in results), results
    assert "src/ holds code" in next(r for r in results if r["tool"] == "files.read")["result"]
    show = next(r for r in results if r["tool"] == "checklist.show")
    assert "- [ ] 1. look at src/" in show["result"]
    notes = settings.workspaces.root / run_id / "research" / "notes.md"
    assert notes.read_text() == "src/ holds code"
