"""PostgreSQL for tests: the server scripts/postgres.sh starts, one fresh database per test."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The server URL; starts the server with scripts/postgres.sh (installing it if needed)."""
    url = os.environ.get("ORCHESTRA_TEST_POSTGRES_URL")
    if url:
        return url
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "postgres.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"scripts/postgres.sh failed:\n{result.stderr}")
    return result.stdout.strip().rsplit("=", 1)[1]


def _dsn(url: str, database: str) -> str:
    return (
        make_url(url)
        .set(drivername="postgresql", database=database)
        .render_as_string(hide_password=False)
    )


async def _admin(server: str, statement: str) -> None:
    admin = await asyncpg.connect(_dsn(server, "postgres"))
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL to a brand-new empty database, dropped after the test.

    A plain (sync) fixture with its own short event loop, so async fixtures
    can ask for it with ``request.getfixturevalue``.
    """
    name = f"t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(postgres_server, f'CREATE DATABASE "{name}"'))
    yield make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
