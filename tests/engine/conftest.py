from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestra.engine.events import EventBus
from orchestra.engine.testing import MemoryRunStore
from orchestra.store.database import connect
from orchestra.store.run_store import SqlRunStore
from tests.store.postgres import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]

RunStoreUnderTest = SqlRunStore | MemoryRunStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A sync fixture: ``postgres_url`` runs its own short event loop."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/orchestra.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None for the in-memory store. A sync fixture: ``postgres_url`` runs its own loop."""
    if request.param == "memory":
        return None
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/orchestra.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(store_url: str | None) -> AsyncIterator[RunStoreUnderTest]:
    """The engine's tests hold on every store: in memory (``engine/testing.py``), SQLite
    and PostgreSQL. Tests that need a database URL (other processes) ask ``database_url``."""
    if store_url is None:
        memory = MemoryRunStore()
        memory.add_sink(EventBus(memory.read_events))
        async with memory:
            yield memory
        return
    database = await connect(store_url)
    run_store = SqlRunStore(database)
    run_store.add_sink(EventBus(run_store.read_events))
    async with run_store:
        yield run_store
    await database.aclose()


@pytest.fixture
def bus(store: RunStoreUnderTest) -> EventBus:
    sink = store._sinks[0]
    assert isinstance(sink, EventBus)
    return sink
