"""The start-up probe: one query decides whether Alembic (slow to import) must run."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra.store import migrate
from orchestra.store.database import Database, connect


def test_shipped_head_is_alembics_head() -> None:
    assert migrate.shipped_head() == migrate.head_revision()


async def check_probe(database: Database) -> None:
    assert await database.read(migrate.stored_revision) == migrate.shipped_head()
    await database.write(lambda c: migrate.downgrade(c, "0003_model_calls"))
    assert await database.read(migrate.stored_revision) == "0003_model_calls"
    await database.migrate()  # behind: Alembic runs
    assert await database.read(migrate.current_revision) == migrate.head_revision()
    await database.write(lambda c: migrate.downgrade(c, "base"))
    assert await database.read(migrate.stored_revision) is None
    await database.migrate()
    assert await database.read(migrate.stored_revision) == migrate.shipped_head()


async def test_probe_on_sqlite(tmp_path: Path) -> None:
    fresh = await connect(f"sqlite:///{tmp_path}/orchestra.db", run_migrations=False)
    try:
        assert await fresh.read(migrate.stored_revision) is None  # no table yet
        await fresh.migrate()
        await check_probe(fresh)
    finally:
        await fresh.aclose()


@pytest.mark.postgres
async def test_probe_on_postgres(postgres_url: str) -> None:
    fresh = await connect(postgres_url, run_migrations=False)
    try:
        assert await fresh.read(migrate.stored_revision) is None
        await fresh.migrate()
        await check_probe(fresh)
    finally:
        await fresh.aclose()
