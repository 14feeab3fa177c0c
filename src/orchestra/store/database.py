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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from orchestra.store import migrate
from orchestra.store.errors import DatabaseUnavailable, DatabaseUrlError

if TYPE_CHECKING:  # the asyncio extension (and the ORM it imports) only for PostgreSQL
    from sqlalchemy.ext.asyncio import AsyncEngine

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
        except BaseException:
            raw.rollback()
            raise
        raw.commit()
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


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        self._writer_engine = _sqlite_engine(url, "")  # the writer begins on its own
        self._reader_engine = _sqlite_engine(url, "BEGIN")
        self._writer = _ThreadConnection(
            self._writer_engine, "orchestra-sqlite-writer", inline=True
        )
        self._reader = _ThreadConnection(self._reader_engine, "orchestra-sqlite-reader")

    async def write(self, work: Work[T]) -> T:
        try:
            return await self._writer.run(work)
        except OperationalError as exc:
            raise DatabaseUnavailable(
                f"SQLite write failed: {exc.orig}; check the file's permissions and free space"
            ) from exc

    async def read(self, work: Work[T]) -> T:
        return await self._reader.run(work)

    async def aclose(self) -> None:
        await self._writer.aclose()
        await self._reader.aclose()
        self._writer_engine.dispose()
        self._reader_engine.dispose()


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        from sqlalchemy.ext.asyncio import create_async_engine

        self._engine: AsyncEngine = create_async_engine(url, pool_size=10, max_overflow=10)

    async def write(self, work: Work[T]) -> T:
        async with self._engine.begin() as connection:
            return await connection.run_sync(work)

    async def read(self, work: Work[T]) -> T:
        async with self._engine.connect() as connection:
            return await connection.run_sync(work)

    async def aclose(self) -> None:
        await self._engine.dispose()


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
        except (OSError, OperationalError) as exc:
            await database.aclose()
            raise DatabaseUnavailable(
                f"cannot open database {make_url(url).render_as_string()}: {exc}; "
                "check ORCHESTRA_DATABASE_URL / [database] url and that the server runs"
            ) from exc
    return database
