"""Storage faults become store errors that say what happened, where, and what to do;
the failed write is rolled back as a whole and everything committed before survives.

SQLite reports the faults itself: ``PRAGMA max_page_count`` makes a growing write fail
with SQLITE_FULL as a full disk does, ``PRAGMA query_only`` refuses writes with
SQLITE_READONLY as a read-only file does (``chmod`` does not stop root, who runs tests).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from orchestra.engine.events import EventType
from orchestra.errors import RuntimeFailure, UserMistake
from orchestra.store.database import connect, normalise_url, open_database
from orchestra.store.errors import (
    DatabaseReadOnly,
    DatabaseUnavailable,
    DatabaseUrlError,
    StorageFull,
)
from orchestra.store.run_store import SqlRunStore
from tests.engine.helpers import step, workflow

BIG = {"text": " ".join(f"word{i}" for i in range(4000))}  # ~35 kB: several pages


def _pragma(statement: str) -> Callable[[Connection], None]:
    def work(conn: Connection) -> None:
        conn.exec_driver_sql(statement)

    return work


async def test_a_full_disk_fails_the_write_and_keeps_what_was_stored(tmp_path: Path) -> None:
    database = await connect(f"sqlite:///{tmp_path}/o.db")
    try:
        async with SqlRunStore(database) as store:
            run_id = await store.create_run(workflow(step("a")), {})
            await store.append_events(run_id, [(EventType.LOG, None, {"message": "kept"})])
            before = await store.read_events(run_id)
            pages = await database.read(lambda c: c.exec_driver_sql("PRAGMA page_count").scalar())
            await database.write(_pragma(f"PRAGMA max_page_count={pages + 1}"))

            with pytest.raises(StorageFull) as raised:
                await store.append_events(run_id, [(EventType.LOG, None, BIG)] * 4)
            message = str(raised.value)
            assert "database is full" in message and str(tmp_path / "o.db") in message
            assert "Free disk space" in message
            assert isinstance(raised.value, RuntimeFailure) and raised.value.retryable
            assert raised.value.code == "storage_full"
            assert await store.read_events(run_id) == before  # nothing lost, nothing half-written

            # Space again: the writer goes on (the failed transaction was rolled back).
            await database.write(_pragma("PRAGMA max_page_count=1073741823"))
            await store.append_events(run_id, [(EventType.LOG, None, BIG)])
            after = await store.read_events(run_id)
            assert after[: len(before)] == before
            assert [e.seq for e in after] == list(range(1, len(before) + 2))
    finally:
        await database.aclose()


async def test_a_read_only_database_refuses_writes_with_a_clear_error(tmp_path: Path) -> None:
    database = await connect(f"sqlite:///{tmp_path}/o.db")
    try:
        async with SqlRunStore(database) as store:
            run_id = await store.create_run(workflow(step("a")), {})
            await database.write(_pragma("PRAGMA query_only=ON"))
            with pytest.raises(DatabaseReadOnly) as raised:
                await store.create_run(workflow(step("a")), {})
            assert "read-only" in str(raised.value) and str(tmp_path / "o.db") in str(raised.value)
            assert raised.value.retryable and raised.value.code == "database_read_only"
            assert (await store.get_run(run_id)).status.value == "queued"  # reads still work
    finally:
        await database.aclose()
    again = await connect(f"sqlite:///{tmp_path}/o.db")  # writable again: all is there
    try:
        async with SqlRunStore(again) as store:
            assert (await store.get_run(run_id)).status.value == "queued"
            await store.create_run(workflow(step("b")), {})
    finally:
        await again.aclose()


async def test_postgres_unreachable_is_database_unavailable_on_write_and_read() -> None:
    # A port nothing listens on: asyncpg raises a bare OSError, which used to escape.
    database = open_database("postgresql://nobody@127.0.0.1:1/none")
    try:
        with pytest.raises(DatabaseUnavailable, match="cannot reach PostgreSQL") as raised:
            await database.write(lambda conn: conn.execute(text("SELECT 1")))
        assert raised.value.retryable and isinstance(raised.value, RuntimeFailure)
        with pytest.raises(DatabaseUnavailable):
            await database.read(lambda conn: conn.execute(text("SELECT 1")))
    finally:
        await database.aclose()


@pytest.mark.postgres
async def test_postgres_read_only_transactions_are_database_read_only(postgres_url: str) -> None:
    database = await connect(postgres_url)
    try:
        async with SqlRunStore(database) as store:
            run_id = await store.create_run(workflow(step("a")), {})
        name = make_url(postgres_url).database
        dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
        admin = await asyncpg.connect(dsn)
        try:
            await admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        finally:
            await admin.close()
        await database.aclose()  # new connections pick the setting up
        database = open_database(postgres_url)
        async with SqlRunStore(database) as store:
            with pytest.raises(DatabaseReadOnly, match="read-only") as raised:
                await store.create_run(workflow(step("b")), {})
            assert raised.value.retryable
            assert (await store.get_run(run_id)).status.value == "queued"
    finally:
        await database.aclose()


def test_database_url_error_names_urls_that_are_kept_as_written() -> None:
    with pytest.raises(DatabaseUrlError) as raised:
        normalise_url("mysql://h/d")
    message = str(raised.value)
    assert isinstance(raised.value, UserMistake)
    assert "aiosqlite" not in message  # we normalise it away: never tell users to write it
    assert "sqlite:///path/to/orchestra.db" in message
    assert "postgresql://user:password@host:port/db" in message
    assert normalise_url("sqlite:///path/to/orchestra.db") == "sqlite:///path/to/orchestra.db"


def test_store_errors_belong_to_the_families() -> None:
    assert issubclass(DatabaseUnavailable, RuntimeFailure) and DatabaseUnavailable.retryable
    for error in (StorageFull, DatabaseReadOnly):
        assert issubclass(error, DatabaseUnavailable) and error.retryable


async def test_unawaited_writes_failing_alike_log_the_fault_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = await connect(f"sqlite:///{tmp_path}/o.db")
    try:
        async with SqlRunStore(database) as store:
            run_id = await store.create_run(workflow(step("a")), {})
            pages = await database.read(lambda c: c.exec_driver_sql("PRAGMA page_count").scalar())
            await database.write(_pragma(f"PRAGMA max_page_count={pages}"))
            for _ in range(20):  # like streamed tokens: nobody awaits them
                await store.append_events(run_id, [(EventType.LOG, None, BIG)], wait=False)
                await store.wait_idle()  # its batch failed and was retried alone
    finally:
        await database.aclose()
    logged = [r for r in caplog.records if r.getMessage() == "background write failed"]
    assert len(logged) == 1, logged
