from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestra.engine.events import EventBus
from orchestra.store.database import connect
from orchestra.store.run_store import SqlRunStore
from tests.store.postgres import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]


@pytest.fixture(params=["sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlRunStore]:
    database = await connect(f"sqlite+aiosqlite:///{tmp_path}/orchestra.db")
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
