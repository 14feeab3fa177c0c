"""Hot-path statements: built with SQLAlchemy Core once, compiled once per dialect,
executed on the DBAPI cursor of the transaction's connection.

SQLAlchemy's per-execution work (coercion, cache keys, result wrapping) costs
about 60–90 µs a statement here, several times what SQLite itself needs; the
engine's few hot statements (claim, renew, finish, event insert) skip it while
still running inside the same SQLAlchemy-managed transaction. Everything else
uses SQLAlchemy normally.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.expression import Executable


class Prepared:
    """A statement compiled per dialect; call with a dict of its bind parameters, or
    (:meth:`many_tuples`) with tuples in the declared ``order`` of its parameters."""

    __slots__ = ("_compiled", "_picks", "order", "statement")

    def __init__(self, statement: Executable, *, order: tuple[str, ...] = ()) -> None:
        self.statement = statement
        self.order = order
        self._compiled: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]] = {}
        self._picks: dict[str, tuple[int, ...] | None] = {}

    def _form(self, connection: Connection) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        name = connection.dialect.name
        form = self._compiled.get(name)
        if form is None:
            compiled = self.statement.compile(dialect=connection.dialect)  # type: ignore[attr-defined]
            order = tuple(compiled.positiontup or ())
            form = (compiled.string, order, dict(compiled.params))
            self._compiled[name] = form
        return form

    def _cursor(self, connection: Connection) -> Any:
        return connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Execute and return every row (for RETURNING / SELECT)."""
        sql, order, defaults = self._form(connection)
        cursor = self._cursor(connection)
        try:
            cursor.execute(sql, tuple(params[k] if k in params else defaults[k] for k in order))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def run(self, connection: Connection, params: Mapping[str, Any]) -> int:
        """Execute; return the number of rows changed."""
        sql, order, defaults = self._form(connection)
        cursor = self._cursor(connection)
        try:
            cursor.execute(sql, tuple(params[k] if k in params else defaults[k] for k in order))
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def many(self, connection: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        sql, order, defaults = self._form(connection)
        cursor = self._cursor(connection)
        try:
            cursor.executemany(
                sql, [tuple(r[k] if k in r else defaults[k] for k in order) for r in rows]
            )
        finally:
            cursor.close()

    def many_tuples(self, connection: Connection, rows: list[tuple[Any, ...]]) -> None:
        """Execute once per row; each row holds every parameter, in ``order`` (no dicts
        to build: this is the event insert of every commit)."""
        sql, compiled_order, _ = self._form(connection)
        name = connection.dialect.name
        if name not in self._picks:
            same = compiled_order == self.order
            self._picks[name] = None if same else tuple(map(self.order.index, compiled_order))
        picks = self._picks[name]
        if picks is not None:
            rows = [tuple(row[i] for i in picks) for row in rows]
        cursor = self._cursor(connection)
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()
