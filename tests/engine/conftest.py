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
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunStoreUnderTest]:
    """The engine's tests hold on every store: in memory (``engine/testing.py``), SQLite
    and PostgreSQL. Tests that need a database URL (other processes) ask ``database_url``."""
    if request.param == "memory":
        memory = MemoryRunStore()
        memory.add_sink(EventBus(memory.read_events))
        async with memory:
            yield memory
        return
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/orchestra.db"
    else:
        url = request.getfixturevalue("postgres_url")
    database = await connect(url)
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
