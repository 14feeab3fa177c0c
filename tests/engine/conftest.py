from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestra.engine.events import EventBus
from orchestra.store.database import connect
from orchestra.store.run_store import SqlRunStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlRunStore]:
    database = await connect(f"sqlite+aiosqlite:///{tmp_path}/orchestra.db")
    run_store = SqlRunStore(database)
    run_store.add_sink(EventBus(run_store.read_events))
    async with run_store:
        yield run_store
    await database.aclose()


@pytest.fixture
def bus(store: SqlRunStore) -> EventBus:
    return store._sinks[0]  # type: ignore[return-value]
