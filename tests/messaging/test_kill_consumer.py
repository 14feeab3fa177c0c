"""kill -9 of a consumer mid-delivery: the message comes back to the next consumer, is
never lost, and its dedupe key keeps it from being handled (a task created) twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from orchestra.messaging import MessageBus
from orchestra.messaging.redis_streams import RedisStreamsBackend
from orchestra.store.database import connect
from orchestra.store.messages import SqlMessageBackend
from orchestra.store.team import TaskRepository
from tests.messaging.consumer_process import POLICY

ROOT = Path(__file__).resolve().parents[2]


def start(bus_url: str, tasks_url: str, mode: str, prefix: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.messaging.consumer_process",
            bus_url,
            tasks_url,
            mode,
            prefix,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def wait_line(process: subprocess.Popen[str], prefix: str) -> str:
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"consumer exited (rc={process.wait()}) before printing {prefix!r}")


@pytest.mark.parametrize("mode", ["hang-before", "hang-after"])
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_killed_consumer_message_is_redelivered_and_handled_once(
    kind: str, mode: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    tasks_url = f"sqlite:///{tmp_path}/tasks.db"
    prefix = f"k{uuid.uuid4().hex[:8]}"
    database = await connect(tasks_url)
    if kind == "redis":
        bus_url = str(request.getfixturevalue("redis_server"))
        bus = MessageBus(RedisStreamsBackend(bus_url, POLICY, prefix=prefix))
    else:
        bus_url = tasks_url
        bus = MessageBus(SqlMessageBackend(database, POLICY))
    await bus.start()
    try:
        first = start(bus_url, tasks_url, mode, prefix)
        await asyncio.to_thread(wait_line, first, "ready")  # subscribed: publish now
        sent = await bus.publish(
            {"topic": "tasks.new", "dedupe_key": "job-1", "body": {"title": "summarise"}}
        )
        line = await asyncio.to_thread(
            wait_line, first, "handled" if mode == "hang-after" else "received"
        )
        assert "created=True" in line or mode == "hang-before"
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait() == -signal.SIGKILL
        assert first.stdout is not None
        first.stdout.close()

        second = start(bus_url, tasks_url, "normal", prefix)
        received = await asyncio.to_thread(wait_line, second, "received")
        assert received == f"received {sent.message.id} attempt=2"
        handled = await asyncio.to_thread(wait_line, second, "handled")
        # Killed after creating the task: the redelivery finds it (no second task).
        assert ("created=False" in handled) == (mode == "hang-after")
        await asyncio.to_thread(wait_line, second, "acked")
        assert second.wait(timeout=60) == 0
        assert second.stdout is not None
        second.stdout.close()

        tasks = await TaskRepository(database).list()
        assert [t.title for t in tasks] == ["summarise"]
        assert tasks[0].idempotency_key == "message:job-1"
        assert (await bus.depths())["tasks.from.tasks.new"] == 0
        assert await bus.dead_letters() == []
    finally:
        await bus.aclose()
        await database.aclose()
