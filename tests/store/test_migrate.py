"""Migrations run on start and go up and down on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect

from orchestra.store import migrate
from orchestra.store.database import Database, connect

TABLES = {"runs", "steps", "step_attempts", "events", "approvals"}


def tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def check_round_trip(database: Database) -> None:
    assert await database.read(migrate.current_revision) == migrate.head_revision()
    assert await database.read(tables) >= TABLES
    await database.write(lambda c: migrate.downgrade(c, "base"))
    assert await database.read(tables) == set()
    await database.migrate()
    await database.migrate()  # idempotent on start
    assert await database.read(tables) >= TABLES


async def test_sqlite_migrations(tmp_path: Path) -> None:
    database = await connect(f"sqlite+aiosqlite:///{tmp_path}/new/dir/orchestra.db")
    try:
        await check_round_trip(database)
        mode = await database.read(lambda c: c.exec_driver_sql("PRAGMA journal_mode").scalar())
        assert mode == "wal"
    finally:
        await database.aclose()


@pytest.mark.postgres
async def test_postgres_migrations(postgres_url: str) -> None:
    database = await connect(postgres_url)
    try:
        await check_round_trip(database)
    finally:
        await database.aclose()
