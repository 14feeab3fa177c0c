"""Database access for the store: one transaction per call, SQLite or PostgreSQL.

Work is expressed as plain functions of a SQLAlchemy :class:`Connection` and
run inside one transaction, so the same repository code serves both backends:

* **SQLite** runs writes on the event loop's thread, one ``BEGIN IMMEDIATE``
  transaction per group-commit batch (a batch takes a few hundred
  microseconds, less than a hop to a thread), and reads on a reader thread
  with its own connection (WAL readers do not block the writer). aiosqlite's
  model, one thread hop per statement, costs several times more. The file is
  in WAL mode with ``synchronous=NORMAL``: a committed transaction survives a
  crash of the process (``kill -9``); only a power loss or OS crash may lose the
  last transactions. See docs/engine.md.
* **PostgreSQL** uses SQLAlchemy's asyncio engine with asyncpg and
  ``run_sync`` for the same functions.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from orchestra.store import migrate
from orchestra.store.errors import (
    DatabaseReadOnly,
    DatabaseUnavailable,
    DatabaseUrlError,
    StorageFull,
)

if TYPE_CHECKING:  # the asyncio extension (and the ORM it imports) only for PostgreSQL
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")
Work = Callable[[Connection], T]


class Database:
    """Runs work functions in transactions. Build with :func:`open_database`."""

    dialect: str

    async def write(self, work: Work[T]) -> T:
        raise NotImplementedError

    async def read(self, work: Work[T]) -> T:
        raise NotImplementedError

    async def migrate(self) -> None:
        await self.write(migrate.upgrade)

    async def aclose(self) -> None:
        raise NotImplementedError


class _ThreadConnection:
    """One SQLite connection owned by one thread; work runs there in a transaction.

    With ``inline=True`` the work runs on the calling (event loop) thread
    instead: a group-commit batch is a few hundred microseconds of SQLite, less
    than a round trip through a thread and the GIL hand-over it costs.
    """

    def __init__(self, engine: Engine, name: str, *, inline: bool = False) -> None:
        self._engine = engine
        self._inline = inline
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._connection: Connection | None = None

    def _run(self, work: Work[T]) -> T:
        if self._connection is None:
            self._connection = self._engine.connect()
        connection = self._connection
        if not self._inline:
            with connection.begin():
                return work(connection)
        # The writer drives the transaction on the driver connection itself (its
        # engine's "begin" hook is a no-op): SQLAlchemy's begin/commit bookkeeping
        # would cost more than the batch's statements.
        raw = connection.connection.dbapi_connection
        assert raw is not None
        raw.execute("BEGIN IMMEDIATE")
        try:
            result = work(connection)
            # A failed COMMIT (the disk filled up while writing the WAL) leaves the
            # transaction open; roll it back too, or every later BEGIN would fail.
            raw.commit()
        except BaseException:
            if raw.in_transaction:
                raw.rollback()
            raise
        return result

    async def run(self, work: Work[T]) -> T:
        if self._inline:
            return self._run(work)
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._run, work)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def aclose(self) -> None:
        if self._inline:
            self._close()
        else:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._close)
        self._pool.shutdown(wait=True)


def _sqlite_engine(url: str, begin: str) -> Engine:
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if begin:
            connection.exec_driver_sql(begin)

    return engine


_SQLITE_FULL = 13
_SQLITE_READONLY = 8
_SQLITE_CANTOPEN = 14


def _sqlite_fault(error: sqlite3.Error, where: str) -> DatabaseUnavailable:
    """The store error for a SQLite failure, by its (primary) result code."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if code == _SQLITE_FULL:
        return StorageFull(where, str(error))
    if code == _SQLITE_READONLY:
        return DatabaseReadOnly(where, str(error))
    return DatabaseUnavailable(
        f"SQLite database {where} failed: {error}; check the file's permissions, "
        "the free disk space and that no other program holds it locked"
    )


def _sqlite_error(error: BaseException) -> sqlite3.Error | None:
    """The SQLite error behind ``error``: SQLAlchemy wraps the statements' errors, the
    writer's own ``BEGIN``/``COMMIT`` raise them bare."""
    if isinstance(error, OperationalError) and isinstance(error.orig, sqlite3.Error):
        return error.orig
    if isinstance(error, sqlite3.OperationalError):
        return error
    return None


def _in_memory(database: str | None, query: Any) -> bool:
    """Whether a SQLite URL names an in-memory database (``sqlite:///:memory:``,
    ``sqlite://``, or a ``mode=memory`` URI)."""
    return not database or database == ":memory:" or query.get("mode") == "memory"


class SqliteDatabase(Database):
    """SQLite: writes inline on the event loop, reads on a thread of their own; an
    in-memory database has one connection for both (see ``__init__``)."""

    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.path = parsed.database or ":memory:"
        self._writer_engine = _sqlite_engine(url, "")  # the writer begins on its own
        self._writer = _ThreadConnection(
            self._writer_engine, "orchestra-sqlite-writer", inline=True
        )
        if _in_memory(parsed.database, parsed.query):
            # Every connection to ``:memory:`` is a database of its own: a reader of
            # its own would find no tables. Reads share the writer's one connection
            # (on the event loop's thread, like the writes; nothing waits on a disk).
            self._reader_engine = self._writer_engine
            self._reader = self._writer
        else:
            self._reader_engine = _sqlite_engine(url, "BEGIN")
            self._reader = _ThreadConnection(self._reader_engine, "orchestra-sqlite-reader")

    async def write(self, work: Work[T]) -> T:
        try:
            return await self._writer.run(work)
        except (OperationalError, sqlite3.OperationalError) as exc:
            raise self._fault(exc) from exc

    async def read(self, work: Work[T]) -> T:
        try:
            return await self._reader.run(work)
        except (OperationalError, sqlite3.OperationalError) as exc:
            raise self._fault(exc) from exc

    def _fault(self, exc: BaseException) -> DatabaseUnavailable:
        cause = _sqlite_error(exc)
        if cause is None:
            return DatabaseUnavailable(f"SQLite database {self.path} failed: {exc}")
        return _sqlite_fault(cause, self.path)

    async def aclose(self) -> None:
        await self._writer.aclose()
        self._writer_engine.dispose()
        if self._reader is not self._writer:
            await self._reader.aclose()
            self._reader_engine.dispose()


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        self._engine: AsyncEngine = create_async_engine(url, pool_size=10, max_overflow=10)
        self._where = make_url(url).render_as_string(hide_password=True)

    async def write(self, work: Work[T]) -> T:
        return await self._run(self._engine.begin(), work)

    async def read(self, work: Work[T]) -> T:
        return await self._run(self._engine.connect(), work)

    async def _run(self, opening: AbstractAsyncContextManager[AsyncConnection], work: Work[T]) -> T:
        """Run ``work`` on the connection ``opening`` gives; outages become store errors."""
        try:
            async with opening as connection:
                return await connection.run_sync(work)
        except (DBAPIError, OSError) as exc:
            fault = _postgres_fault(exc, self._where)
            if fault is None:
                raise
            raise fault from exc

    async def aclose(self) -> None:
        await self._engine.dispose()


_PG_DISK_FULL = "53100"
_PG_READ_ONLY = "25006"
_PG_UNAVAILABLE = ("08", "53", "57P")  # connection, insufficient resources, operator action


def _postgres_fault(error: BaseException, where: str) -> DatabaseUnavailable | None:
    """The store error for a PostgreSQL failure, or None for errors of the work itself
    (a constraint violation is the caller's to handle, not an outage)."""
    if isinstance(error, OSError):  # refused, reset, unreachable: asyncpg raises them bare
        return DatabaseUnavailable(
            f"cannot reach PostgreSQL at {where}: {error}; check that the server runs and "
            "ORCHESTRA_DATABASE_URL / [database] url"
        )
    assert isinstance(error, DBAPIError)
    cause = error.orig
    state = str(getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None) or "")
    detail = str(cause).strip().splitlines()[-1] if str(cause).strip() else repr(cause)
    if state == _PG_DISK_FULL:
        return StorageFull(where, detail)
    if state == _PG_READ_ONLY:
        return DatabaseReadOnly(where, detail)
    if (
        isinstance(error, OperationalError)
        or error.connection_invalidated
        or state.startswith(_PG_UNAVAILABLE)
    ):
        return DatabaseUnavailable(
            f"PostgreSQL at {where} failed: {detail}; check that the server runs and "
            "accepts connections (ORCHESTRA_DATABASE_URL / [database] url)"
        )
    return None


def normalise_url(url: str) -> str:
    """Map user-facing URLs to the drivers we run: ``sqlite:///`` (sync, own threads)
    and ``postgresql+asyncpg://``."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(url) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise DatabaseUrlError(url)


def open_database(url: str) -> Database:
    """Build (without connecting) the database for ``url``."""
    normalised = normalise_url(url)
    if normalised.startswith("sqlite"):
        database = make_url(normalised).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(normalised)
    return PostgresDatabase(normalised)


async def connect(url: str, *, run_migrations: bool = True) -> Database:
    """Open the database and bring its schema up to date."""
    database = open_database(url)
    if run_migrations:
        try:
            await database.migrate()
        except DatabaseUnavailable:
            await database.aclose()
            raise  # already says what happened, where, and what to do
        except (OSError, OperationalError) as exc:
            await database.aclose()
            raise DatabaseUnavailable(
                f"cannot open database {make_url(url).render_as_string()}: {exc}; "
                "check ORCHESTRA_DATABASE_URL / [database] url and that the server runs"
            ) from exc
    return database
