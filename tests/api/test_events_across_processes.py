"""Events committed by another process reach ``orchestra serve``'s WebSocket live (PostgreSQL).

The server and the writer are separate real processes on one PostgreSQL
database: only LISTEN/NOTIFY tells the server that the writer committed.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from tests.api import commit_writer
from tests.api.process import Server, free_port
from tests.api.project import write_project
from tests.api.served import admin_key
from tests.store.postgres import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]

ROOT = Path(__file__).resolve().parents[2]


async def _next(ws: Any) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(await ws.recv())
        if message["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
        elif message["type"] == "error":
            raise AssertionError(message)
        else:
            return message


async def _follow(port: int, key: str, run_id: str, go: Callable[[], None]) -> list[dict[str, Any]]:
    """Subscribe to ``run_id``, call ``go`` (the writer starts), collect until run_finished."""
    address = f"ws://127.0.0.1:{port}/api/v1/ws"
    async with connect(address, subprotocols=["orchestra.v1", f"bearer.{key}"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "subscribe", "run_id": run_id, "after": 0}))
        assert await _next(ws) == {"type": "subscribed", "run_id": run_id, "after": 0}
        go()
        events: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(120):  # bounds a hang; not a timing assertion
                while not events or events[-1]["type"] != "run_finished":
                    message = await _next(ws)
                    assert message["type"] == "event", message
                    events.append(message["event"])
        except TimeoutError:
            raise AssertionError(f"the server relayed only {len(events)} events") from None
    return events


def test_a_second_process_commits_and_the_subscriber_gets_every_event_live(
    tmp_path: Path, postgres_url: str
) -> None:
    project = write_project(tmp_path / "project")
    with (project / "orchestra.toml").open("a") as toml:
        toml.write(f'\n[database]\nurl = "{postgres_url}"\n')
    server = Server(project, free_port())
    # A loaded machine imports slowly. Ready = migrated: the writer does not race the server.
    server.wait_ready()
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.api.commit_writer", str(project)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        key = admin_key(server.output())
        assert writer.stdout is not None and writer.stdin is not None
        stdin = writer.stdin
        run_id = writer.stdout.readline().strip()
        assert run_id, "the writer printed no run id"

        def go() -> None:
            stdin.write("go\n")
            stdin.flush()

        events = asyncio.run(_follow(server.port, key, run_id, go))
        total = commit_writer.BATCHES * commit_writer.PER_BATCH + 1
        assert [e["seq"] for e in events] == list(range(1, total + 1))
        assert events[0]["content"] == {"message": "batch 0 line 0"}
        assert all(e["run_id"] == run_id for e in events)
        assert writer.wait(timeout=60) == 0
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        for pipe in (writer.stdin, writer.stdout):
            if pipe is not None:
                pipe.close()
        server.stop()
