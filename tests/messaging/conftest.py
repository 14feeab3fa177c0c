"""Fixtures for the message bus: a backend on SQLite, PostgreSQL or a real Redis."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from orchestra.messaging import DeliveryPolicy, MessageBackend, MessageBus
from orchestra.messaging.redis_streams import RedisStreamsBackend
from orchestra.store.database import Database, connect
from orchestra.store.messages import SqlMessageBackend
from tests.store.postgres import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]

POLICY = DeliveryPolicy(visibility_s=0.5, max_deliveries=3, backoff_base_s=0.05, poll_s=0.02)
"""Short timeouts so redelivery tests finish quickly; no test asserts on timing."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A real redis-server on a free 127.0.0.1 port for the session."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed; run scripts/services.sh"
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "redis"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the backend under test lives (a plain fixture: it may ask for others)."""
    if request.param == "redis":
        return str(request.getfixturevalue("redis_server"))
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/bus.db"
    return str(request.getfixturevalue("postgres_url"))


async def open_backend(url: str, policy: DeliveryPolicy) -> tuple[MessageBackend, Database | None]:
    if url.startswith("redis"):
        return RedisStreamsBackend(url, policy, prefix=f"t{uuid.uuid4().hex[:8]}"), None
    database = await connect(url)
    return SqlMessageBackend(database, policy), database


@pytest.fixture
async def bus(backend_url: str) -> AsyncIterator[MessageBus]:
    backend, database = await open_backend(backend_url, POLICY)
    bus = MessageBus(backend)
    await bus.start()
    yield bus
    await bus.aclose()
    if database is not None:
        await database.aclose()
