from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestra.engine.events import EventBus
from orchestra.store.database import connect
from orchestra.store.run_store import SqlRunStore
from tests.store.postgres import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A sync fixture: ``postgres_url`` runs its own short event loop."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/orchestra.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlRunStore]:
    database = await connect(database_url)
    run_store = SqlRunStore(database)
    run_store.add_sink(EventBus(run_store.read_events))
    async with run_store:
        yield run_store
    await database.aclose()


@pytest.fixture
def bus(store: SqlRunStore) -> EventBus:
    sink = store._sinks[0]
    assert isinstance(sink, EventBus)
    return sink
