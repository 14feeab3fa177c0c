"""The WebSocket against a real uvicorn server: auth, replay + live, reconnects, pings, 4408."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect

from orchestra.api.deps import ApiOptions
from orchestra.engine.ids import RunId
from orchestra.engine.states import RunStatus
from orchestra.runtime.container import Container
from tests.api import live
from tests.api.conftest import Keys
from tests.api.project import wait_for


@pytest.fixture
def api_options() -> ApiOptions:
    return ApiOptions(rate_limit="10000/minute", ws_ping_s=0.3, ws_auth_timeout_s=0.5, ws_buffer=8)


@pytest.fixture
async def address(app: FastAPI) -> AsyncIterator[str]:
    async with live.serve(app) as where:
        yield where


def url(address: str) -> str:
    return f"ws://{address}/api/v1/ws"


async def recv(ws: ClientConnection, wait_s: float = 10) -> dict[str, Any]:
    async with asyncio.timeout(wait_s):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def next_event(ws: ClientConnection) -> dict[str, Any]:
    """The next event message's event, skipping pings (answered) and acks."""
    while True:
        message = await recv(ws)
        if message["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
        elif message["type"] == "event":
            event: dict[str, Any] = message["event"]
            return event
        elif message["type"] == "error":
            raise AssertionError(message)


async def test_subprotocol_auth_replay_then_live(
    address: str, container: Container, keys: Keys
) -> None:
    run_id = await container.runs.start_run("busy", {})
    async with connect(url(address), subprotocols=["orchestra.v1", f"bearer.{keys.viewer}"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "orchestra.v1"
        await ws.send(json.dumps({"type": "subscribe", "run_id": run_id, "after": 0}))
        assert await recv(ws) == {"type": "subscribed", "run_id": run_id, "after": 0}
        events = [await next_event(ws)]
        while events[-1]["type"] != "run_finished":
            events.append(await next_event(ws))
    stored = await container.store.read_events(RunId(run_id))
    assert [e["seq"] for e in events] == [e.seq for e in stored]
    assert events == [e.to_json() for e in stored]


async def test_first_message_auth(address: str, container: Container, keys: Keys) -> None:
    async with connect(url(address), subprotocols=["orchestra.v1"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "auth", "key": keys.viewer}))
        await ws.send(json.dumps({"type": "subscribe", "run_id": "missing"}))
        error = await recv(ws)
        assert error["type"] == "error"
        assert error["code"] == "not_found"


@pytest.mark.parametrize("how", ["bad subprotocol key", "bad first message", "no auth in time"])
async def test_unauthorized_closes_4401(address: str, how: str) -> None:
    protocols = (
        ["orchestra.v1", "bearer.orch_abc_nope"]
        if how == "bad subprotocol key"
        else ["orchestra.v1"]
    )
    async with connect(url(address), subprotocols=protocols) as ws:  # type: ignore[arg-type]
        if how == "bad first message":
            await ws.send(json.dumps({"type": "auth", "key": "orch_abc_nope"}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await recv(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401


async def test_heartbeat_pings(address: str, keys: Keys) -> None:
    async with connect(url(address), subprotocols=["orchestra.v1", f"bearer.{keys.viewer}"]) as ws:  # type: ignore[list-item]
        ping = await recv(ws, wait_s=5)
        assert ping["type"] == "ping"
        assert isinstance(ping["t"], float)
        await ws.send(json.dumps({"type": "pong"}))
        assert (await recv(ws, wait_s=5))["type"] == "ping"


async def test_reconnect_mid_run_receives_every_event_exactly_once(
    address: str, container: Container, keys: Keys
) -> None:
    run_id = await container.runs.start_run("busy", {})
    received: list[dict[str, Any]] = []
    after = 0
    drops = 0
    while not received or received[-1]["type"] != "run_finished":
        ws = await connect(url(address), subprotocols=["orchestra.v1", f"bearer.{keys.viewer}"])  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "subscribe", "run_id": run_id, "after": after}))
        assert (await recv(ws))["type"] == "subscribed"
        for _ in range(3):  # a few events, then the connection drops without a close frame
            received.append(await next_event(ws))
            after = received[-1]["seq"]
            if received[-1]["type"] == "run_finished":
                break
        ws.transport.abort()
        drops += 1
    stored = await container.store.read_events(RunId(run_id))
    assert drops >= 3
    assert [e["seq"] for e in received] == list(range(1, len(stored) + 1))
    assert received == [e.to_json() for e in stored]


async def test_follow_every_run(address: str, container: Container, keys: Keys) -> None:
    async with connect(url(address), subprotocols=["orchestra.v1", f"bearer.{keys.viewer}"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "subscribe", "run_id": "*"}))
        assert (await recv(ws))["run_id"] == "*"
        first = await container.runs.start_run("pair", {"Topic": "a"})
        second = await container.runs.start_run("pair", {"Topic": "b"})
        finished: set[str] = set()
        per_run: dict[str, list[int]] = {first: [], second: []}
        while finished != {first, second}:
            event = await next_event(ws)
            per_run[event["run_id"]].append(event["seq"])
            if event["type"] == "run_finished":
                finished.add(event["run_id"])
    for seqs in per_run.values():
        assert seqs == list(range(1, len(seqs) + 1))


BIG_CHAIN = 12


def _big_workflow(project: Path) -> None:
    parts = ["---\nname: big\ninputs:\n  Text: {required: true}\n---\n"]
    for index in range(BIG_CHAIN):
        parts.append(
            f"## Step: s{index}\n* **Agent:** [Echo](../agents/echo.agent.md)\n"
            f"* **Input:** ${{Text}}\n* **Output:** ${{Out{index}}}\n\nRepeat ${{Text}}\n\n"
        )
    (project / "workflows" / "big.workflow.md").write_text("".join(parts))


async def test_slow_consumer_is_cut_off_with_4408_and_the_run_goes_on(
    address: str, container: Container, keys: Keys, project: Path
) -> None:
    _big_workflow(project)
    container.project.refresh()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    host, port = address.split(":")
    sock.connect((host, int(port)))
    ws = await connect(
        url(address),
        sock=sock,
        subprotocols=["orchestra.v1", f"bearer.{keys.viewer}"],  # type: ignore[list-item]
        max_queue=1,
    )
    await ws.send(json.dumps({"type": "subscribe", "run_id": "*"}))
    # 200 kB in 2,000 distinct words: the echo model streams a chunk per word, and
    # LiteLLM stops a stream of 100 identical chunks as a model stuck in a loop.
    text = " ".join(f"{i:06d}{'x' * 94}" for i in range(2_000))
    run_id = await container.runs.start_run("big", {"Text": text})
    # The client reads nothing while the run produces megabytes of events.
    record = await wait_for(container.store, run_id, timeout_s=60)
    assert record.status is RunStatus.SUCCEEDED

    async def drain() -> None:
        while True:
            async with asyncio.timeout(10):
                await ws.recv()

    with pytest.raises(websockets.ConnectionClosed) as closed:
        await drain()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4408
