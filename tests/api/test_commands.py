"""``POST /api/v1/commands`` on the real engine with scripted models: an invalid plan
(unknown agent) is repaired once, the approved plan compiles to a DAG and runs, its
results are stored as context of the command's job, and the next command's planner
sees them; a plan that stays invalid (a cycle) is a 422 naming the problem with the
model's answer; without approval nothing runs; an edited plan is validated too."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestra.api.app import create_app
from orchestra.api.deps import ApiOptions
from orchestra.config import load_settings
from orchestra.context import ContextFilter
from orchestra.engine.ids import RunId
from orchestra.engine.states import RunStatus
from orchestra.llm.scripted import Reply, ScriptedToolCall, ScriptRegistry
from orchestra.runtime.container import Container, ContainerOptions
from tests.api.conftest import Keys, auth

FINDER = """---
name: finder
model: scripted/finder
description: Finds prospects on the web.
capabilities: [prospecting]
---
You find people.
"""

RECORDER = """---
name: recorder
model: scripted/recorder
description: Writes rows to files.
tools: [files.write]
---
You write files.
"""


def plan(*steps: dict[str, Any], objective: str = "find CTOs in Berlin and record them") -> str:
    return json.dumps({"objective": objective, "steps": list(steps)})


FIND = {"id": "find", "agent": "finder", "action": "respond", "params": {}, "depends_on": []}
RECORD = {
    "id": "record",
    "agent": "recorder",
    "action": "files.write",
    "params": {"path": "prospects.csv", "content": "rows"},
    "depends_on": ["find"],
}


def scripts() -> ScriptRegistry:
    registry = ScriptRegistry()
    unknown_dep = {**FIND, "depends_on": ["search"]}
    registry.register(
        "planner",
        [
            Reply(text=plan(unknown_dep, RECORD)),  # repaired on the second answer
            Reply(text=plan(FIND, RECORD)),
            # the cyclic plan, twice: rejected
            Reply(text=plan({**FIND, "depends_on": ["record"]}, RECORD)),
            Reply(text=plan({**FIND, "depends_on": ["record"]}, RECORD)),
            # the next command, planned with the stored context
            Reply(text=plan(FIND, objective="find more like last time")),
        ],
    )
    registry.register(
        "finder", [Reply(text="Ada Lovelace, CTO, Analytica, Berlin")], repeat_last=True
    )
    registry.register(
        "recorder",
        [
            Reply(
                tool_calls=[
                    ScriptedToolCall("files.write", {"path": "prospects.csv", "content": "Ada"})
                ]
            ),
            Reply(text="wrote 1 row"),
        ],
    )
    return registry


@pytest.fixture
def registry() -> ScriptRegistry:
    return scripts()


@pytest.fixture
async def container(tmp_path: Path, registry: ScriptRegistry) -> AsyncIterator[Container]:
    root = tmp_path / "p"
    (root / "agents").mkdir(parents=True)
    (root / "orchestra.toml").write_text('[models]\ndefault = "scripted/echo"\n')
    (root / "agents" / "finder.agent.md").write_text(FINDER)
    (root / "agents" / "recorder.agent.md").write_text(RECORDER)
    opened = await Container.open(
        load_settings(root, env={}), ContainerOptions(scripts=registry, refresh_s=None)
    )
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        container.settings, container=container, options=ApiOptions(rate_limit="10000/minute")
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_plan_repair_run_remember_and_reuse(
    client: httpx.AsyncClient, keys: Keys, container: Container, registry: ScriptRegistry
) -> None:
    op = auth(keys.operator)
    body = {
        "command": "Find CTOs in Berlin and record them",
        "context_job": "berlin-ctos",
        "model": "scripted/planner",
        "approve": True,
    }
    answer = await client.post("/api/v1/commands", json=body, headers=op)
    assert answer.status_code == 200, answer.text
    planned = answer.json()
    assert planned["repaired"] is True and len(planned["answers"]) == 2
    assert '"search"' in planned["answers"][0]
    # The repair message named the problem and the agents that exist.
    repair = registry.calls("planner")[1][-1]["content"]
    assert "step 'find' depends on unknown step 'search'" in repair
    assert [s["id"] for s in planned["steps"]] == ["find", "record"]
    assert planned["status"] == "started" and planned["job_id"] == "berlin-ctos"

    record = await container.runs.wait(RunId(planned["run_id"]))
    assert record.status is RunStatus.SUCCEEDED
    # The recorder got the finder's result through the DAG.
    recorder_prompt = json.dumps(registry.calls("recorder")[0])
    assert "Ada Lovelace, CTO, Analytica, Berlin" in recorder_prompt
    assert "files.write" in recorder_prompt

    stored = await container.context.list(ContextFilter(job_id="berlin-ctos"))
    assert {e.provenance.step_id for e in stored} == {"find", "record"}
    assert all(e.job_type == "command" for e in stored)

    # A plan that stays cyclic after its repair is a clear 422 with the model's answer.
    cyclic = await client.post(
        "/api/v1/commands",
        json={"command": "loop", "model": "scripted/planner", "approve": True},
        headers=op,
    )
    assert cyclic.status_code == 422
    error = cyclic.json()["error"]
    assert error["code"] == "validation_error" and error["details"]["error"] == "plan_invalid"
    assert "cycle" in error["message"] and '"depends_on": ["record"]' in error["message"]

    # The next command with the same job: its planner sees what the first one found.
    again = await client.post(
        "/api/v1/commands",
        json={"command": "more", "context_job": "berlin-ctos", "model": "scripted/planner"},
        headers=op,
    )
    assert again.status_code == 200 and again.json()["status"] == "planned"
    assert again.json()["run_id"] is None
    system = registry.calls("planner")[-1][0]["content"]
    assert "Context from earlier jobs" in system and "Ada Lovelace" in system
    assert "from step find of run" in system


async def test_an_edited_plan_is_validated_and_roles(client: httpx.AsyncClient, keys: Keys) -> None:
    bad = {**RECORD, "params": {"path": "x.csv"}}  # content missing
    answer = await client.post(
        "/api/v1/commands",
        json={"command": "c", "plan": json.loads(plan(FIND, bad)), "approve": True},
        headers=auth(keys.operator),
    )
    assert answer.status_code == 422
    assert "needs parameter 'content'" in answer.json()["error"]["message"]
    refused = await client.post(
        "/api/v1/commands", json={"command": "c"}, headers=auth(keys.viewer)
    )
    assert refused.status_code == 403
