"""Fixtures for gateway tests: misbehaving OpenAI-compatible servers, a real Redis."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.llm.fake_openai import FakeOpenAI
from tests.store.postgres import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI("alpha").start()
    yield server
    server.stop()


@pytest.fixture
def second_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI("beta").start()
    yield server
    server.stop()


def _redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    # CI images do not ship Redis: install it (the test needs a real server, never a fake).
    subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "redis-server"], check=True, capture_output=True
    )
    found = shutil.which("redis-server")
    assert found, "redis-server is not on PATH after apt-get install redis-server"
    return found


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free 127.0.0.1 port, for the session."""
    binary = _redis_server_binary()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(timeout=10)
