"""Hot-path statements: built with SQLAlchemy Core once, compiled once per dialect,
executed on the DBAPI cursor of the transaction's connection.

SQLAlchemy's per-execution work (coercion, cache keys, result wrapping) costs
about 60–90 µs a statement here, several times what SQLite itself needs; the
engine's few hot statements (claim, renew, finish, event insert) skip it while
still running inside the same SQLAlchemy-managed transaction. Everything else
uses SQLAlchemy normally.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.expression import Executable


def _getter(order: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The positional arguments in ``order`` from a mapping (``itemgetter`` is C)."""
    if not order:
        return lambda _values: ()
    if len(order) == 1:
        (only,) = order
        return lambda values: (values[only],)
    return itemgetter(*order)


@dataclass(frozen=True, slots=True)
class _Form:
    sql: str
    order: tuple[str, ...]
    defaults: dict[str, Any]
    """Values of the literals SQLAlchemy bound as parameters (``status = 'running'``)."""
    args: Callable[[Mapping[str, Any]], tuple[Any, ...]]
    direct: bool
    """The DBAPI connection executes statements itself (sqlite3): no cursor to manage."""


class Prepared:
    """A statement compiled per dialect; call with a dict of its bind parameters, or
    (:meth:`many_tuples`) with tuples in the declared ``order`` of its parameters."""

    __slots__ = ("_compiled", "_picks", "order", "statement")

    def __init__(self, statement: Executable, *, order: tuple[str, ...] = ()) -> None:
        self.statement = statement
        self.order = order
        self._compiled: dict[str, _Form] = {}
        self._picks: dict[str, tuple[int, ...] | None] = {}

    def _form(self, connection: Connection) -> _Form:
        dialect = connection.dialect
        form = self._compiled.get(dialect.name)
        if form is None:
            compiled = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]
            order = tuple(compiled.positiontup or ())
            form = _Form(
                compiled.string,
                order,
                dict(compiled.params),
                _getter(order),
                direct=dialect.name == "sqlite",
            )
            self._compiled[dialect.name] = form
        return form

    @staticmethod
    def _dbapi(connection: Connection) -> Any:
        return connection.connection.dbapi_connection

    def _args(self, form: _Form, params: Mapping[str, Any]) -> tuple[Any, ...]:
        return form.args({**form.defaults, **params} if form.defaults else params)

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Execute and return every row (for RETURNING / SELECT)."""
        form = self._form(connection)
        dbapi = self._dbapi(connection)
        if form.direct:
            return dbapi.execute(form.sql, self._args(form, params)).fetchall()  # type: ignore[no-any-return]
        with closing(dbapi.cursor()) as cursor:
            cursor.execute(form.sql, self._args(form, params))
            return list(cursor.fetchall())

    def run(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """Execute; return the number of rows changed."""
        form = self._form(connection)
        dbapi = self._dbapi(connection)
        if form.direct:
            return int(dbapi.execute(form.sql, self._args(form, params)).rowcount)
        with closing(dbapi.cursor()) as cursor:
            cursor.execute(form.sql, self._args(form, params))
            return int(cursor.rowcount)

    def many(self, connection: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        form = self._form(connection)
        dbapi = self._dbapi(connection)
        args = [self._args(form, row) for row in rows]
        if form.direct:
            dbapi.executemany(form.sql, args)
            return
        with closing(dbapi.cursor()) as cursor:
            cursor.executemany(form.sql, args)

    def many_tuples(self, connection: Connection, rows: list[tuple[Any, ...]]) -> None:
        """Execute once per row; each row holds every parameter, in ``order`` (no dicts
        to build: this is the event insert of every commit)."""
        form = self._form(connection)
        name = connection.dialect.name
        if name not in self._picks:
            same = form.order == self.order
            self._picks[name] = None if same else tuple(map(self.order.index, form.order))
        picks = self._picks[name]
        if picks is not None:
            rows = [tuple(row[i] for i in picks) for row in rows]
        dbapi = self._dbapi(connection)
        if form.direct:
            dbapi.executemany(form.sql, rows)
            return
        with closing(dbapi.cursor()) as cursor:
            cursor.executemany(form.sql, rows)
