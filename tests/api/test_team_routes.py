"""The task and agent routes: roles, validation, and a task that the server's own
dispatcher takes to ``complete``; an agent registered through the API takes tasks too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestra.api.app import create_app
from orchestra.api.deps import ApiOptions
from orchestra.config import load_settings
from orchestra.runtime.container import Container, ContainerOptions
from tests.api.conftest import Keys, auth
from tests.tasks.project import scripts, write_team


@pytest.fixture
async def container(tmp_path: Path) -> AsyncIterator[Container]:
    root = write_team(tmp_path / "team")
    opened = await Container.open(
        load_settings(root, env={}),
        ContainerOptions(scripts=scripts(), refresh_s=None, dispatch=True),
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


async def until(client: httpx.AsyncClient, path: str, key: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        body: dict[str, Any] = (await client.get(path, headers=auth(key))).json()
        if body["status"] == status or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.05)


async def test_a_task_posted_is_taken_to_complete_by_the_servers_dispatcher(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    body = {"title": "Fix it", "capabilities": ["python"], "idempotency_key": "fix-1"}
    created = await client.post("/api/v1/tasks", json=body, headers=auth(keys.operator))
    assert created.status_code == 201, created.text
    task = created.json()
    again = await client.post("/api/v1/tasks", json=body, headers=auth(keys.operator))
    assert again.status_code == 200 and again.json()["id"] == task["id"]

    done = await until(client, f"/api/v1/tasks/{task['id']}", keys.viewer, "complete")
    assert done["status"] == "complete" and done["agent"] == "coder"
    assert [u["target"] for u in done["updates"] if u["target"]] == [
        "queued",
        "assigned",
        "complete",
    ]
    run = await client.get(f"/api/v1/runs/{done['run_id']}", headers=auth(keys.viewer))
    assert run.json()["status"] == "succeeded"
    files = (
        await client.get(f"/api/v1/tasks/{task['id']}/files", headers=auth(keys.viewer))
    ).json()
    assert files["workspace"] == f"coder/tasks/{task['id']}"
    assert "README.md" in [f["path"] for f in files["files"]]
    assert not [f for f in files["files"] if f["path"].startswith(".venv")]

    listed = await client.get("/api/v1/tasks?status=complete", headers=auth(keys.viewer))
    assert [t["id"] for t in listed.json()["items"]] == [task["id"]]
    got = await client.get("/api/v1/workers/coder", headers=auth(keys.viewer))
    assert got.status_code == 200, got.text
    coder = got.json()
    assert coder["state"] == "idle" and coder["succeeded"] == 1
    assert [s["task_id"] for s in coder["sessions"]] == [task["id"]]


async def test_roles_and_bad_input(client: httpx.AsyncClient, keys: Keys) -> None:
    refused = await client.post("/api/v1/tasks", json={"title": "x"}, headers=auth(keys.viewer))
    assert refused.status_code == 403
    bad = await client.post(
        "/api/v1/tasks", json={"title": "x", "complexity": 11}, headers=auth(keys.operator)
    )
    assert bad.status_code == 422 and "complexity" in bad.text
    missing = await client.get("/api/v1/tasks/nope", headers=auth(keys.viewer))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    unknown = await client.post(
        "/api/v1/tasks",
        json={"title": "x", "workflow": "note"},
        headers=auth(keys.operator),
    )
    assert unknown.status_code == 422 and "Topic" in unknown.text
    register = {"name": "helper", "instructions": "You help."}
    assert (
        await client.post("/api/v1/agents", json=register, headers=auth(keys.operator))
    ).status_code == 403
    assert (
        await client.post("/api/v1/workers/writer/retire", headers=auth(keys.operator))
    ).status_code == 403


async def test_agents_registered_paused_resumed_and_retired_through_the_api(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    register = {
        "name": "sheeter",
        "instructions": "You do spreadsheets.",
        "model": "scripted/echo",
        "capabilities": ["sheets"],
    }
    made = await client.post("/api/v1/agents", json=register, headers=auth(keys.admin))
    assert made.status_code == 201, made.text
    assert made.json()["source"] == "api"
    clash = await client.post(
        "/api/v1/workers",
        json={**register, "name": "coder"},
        headers=auth(keys.admin),
    )
    assert clash.status_code == 409

    paused = await client.post(
        "/api/v1/workers/sheeter/pause", json={"reason": "later"}, headers=auth(keys.operator)
    )
    assert paused.json()["state"] == "paused"
    task = (
        await client.post(
            "/api/v1/tasks",
            json={"title": "Sum column B", "capabilities": ["sheets"]},
            headers=auth(keys.operator),
        )
    ).json()
    waiting = await until(client, f"/api/v1/tasks/{task['id']}", keys.viewer, "never")
    assert waiting["status"] == "queued" and waiting["wait_reason"]

    await client.post("/api/v1/workers/sheeter/resume", headers=auth(keys.operator))
    done = await until(client, f"/api/v1/tasks/{task['id']}", keys.viewer, "complete")
    assert done["status"] == "complete" and done["agent"] == "sheeter"

    retired = await client.post("/api/v1/workers/sheeter/retire", headers=auth(keys.admin))
    assert retired.json()["state"] == "retired"
    workers = await client.get("/api/v1/workers", headers=auth(keys.viewer))
    names = [a["name"] for a in workers.json()["items"]]
    assert "sheeter" not in names and "coder" in names


async def test_the_tasks_and_agents_channels_replay_then_follow(
    container: Container, client: httpx.AsyncClient, keys: Keys
) -> None:
    import json

    from websockets.asyncio.client import connect

    from tests.api import live

    async def post(title: str) -> str:
        body = {"title": title, "capabilities": ["docs"]}
        answer = await client.post("/api/v1/tasks", json=body, headers=auth(keys.operator))
        return str(answer.json()["id"])

    async def updates(ws: Any, count: int) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        async with asyncio.timeout(60):
            while len(got) < count:
                message = json.loads(await ws.recv())
                # Task moves (notes, such as the run linked, have no target).
                if message["type"] == "agent_transition" or (
                    message["type"] == "task_update" and message["target"]
                ):
                    got.append(message)
        return got

    first = await post("one")
    await until(client, f"/api/v1/tasks/{first}", keys.viewer, "complete")
    app = create_app(container.settings, container=container, options=ApiOptions())
    async with live.serve(app) as address:
        protocols = ["orchestra.v1", f"bearer.{keys.viewer}"]
        async with connect(f"ws://{address}/api/v1/ws", subprotocols=protocols) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "subscribe", "channel": "tasks"}))
            replayed = await updates(ws, 3)
            assert [(u["task_id"], u["target"]) for u in replayed] == [
                (first, "queued"),
                (first, "assigned"),
                (first, "complete"),
            ]
            second = await post("two")  # live from here
            live_ones = await updates(ws, 3)
            assert [(u["task_id"], u["target"]) for u in live_ones] == [
                (second, "queued"),
                (second, "assigned"),
                (second, "complete"),
            ]
            seqs = [u["seq"] for u in replayed + live_ones]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        async with connect(f"ws://{address}/api/v1/ws", subprotocols=protocols) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "subscribe", "channel": "agents", "after": 0}))
            moves = await updates(ws, 1)
            assert moves[0]["type"] == "agent_transition" and moves[0]["target"] == "idle"
            await ws.send(json.dumps({"type": "subscribe", "channel": "tasks", "after": seqs[-1]}))
            third = await post("three")
            after_reconnect = await updates(ws, 1)
            while after_reconnect[0]["type"] != "task_update":
                after_reconnect = await updates(ws, 1)
            assert after_reconnect[0]["task_id"] == third  # nothing before the cursor again
