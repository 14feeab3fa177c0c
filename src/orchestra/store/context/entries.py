"""Rows of ``context_entries``: add, read, list with filters, ranked search, edit, delete.

Search runs in the database on both backends (FTS5 ``bm25`` on SQLite, ``ts_rank_cd``
on PostgreSQL) with the same filters as ``list``, so a ranked page is one query
whatever the size of the store; ``rank`` is higher for a better match on both.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    column,
    delete,
    func,
    insert,
    literal_column,
    select,
    table,
    text,
    update,
)

from orchestra.context.entries import (
    ANY_ENTRY,
    ContextDraft,
    ContextEntry,
    ContextFilter,
    ContextPatch,
    Provenance,
)
from orchestra.context.errors import ContextNotFound
from orchestra.context.search_text import entry_text, fts5_match, query_words, tsquery
from orchestra.store.context.tables import context_entries
from orchestra.store.database import Database

_c = context_entries.c
_ROW = [
    _c.id,
    _c.job_id,
    _c.job_type,
    _c.data_json,
    _c.tags_json,
    _c.source_kind,
    _c.source_by,
    _c.run_id,
    _c.step_id,
    _c.agent,
    _c.created_at,
    _c.updated_at,
]


def _entry(row: Any, rank: float | None = None) -> ContextEntry:
    return ContextEntry(
        id=row.id,
        job_id=row.job_id,
        job_type=row.job_type,
        context_data=json.loads(row.data_json),
        tags=tuple(json.loads(row.tags_json)),
        provenance=Provenance(
            kind=row.source_kind,
            by=row.source_by,
            run_id=row.run_id,
            step_id=row.step_id,
            agent=row.agent,
        ),
        created_at=row.created_at,
        updated_at=row.updated_at,
        rank=rank,
    )


def _conditions(where: ContextFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if where.job_id is not None:
        conditions.append(_c.job_id == where.job_id)
    if where.job_type is not None:
        conditions.append(_c.job_type == where.job_type)
    if where.run_id is not None:
        conditions.append(_c.run_id == where.run_id)
    if where.tag is not None:
        # Tags are restricted to [A-Za-z0-9_.:-], so the quoted JSON form is unambiguous.
        conditions.append(_c.tags_json.contains(json.dumps(where.tag)))
    if where.since is not None:
        conditions.append(_c.created_at >= where.since)
    if where.until is not None:
        conditions.append(_c.created_at < where.until)
    return conditions


class ContextRepository:
    """The context store over one :class:`Database`."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def add(self, draft: ContextDraft, provenance: Provenance) -> ContextEntry:
        """Store ``draft`` written by ``provenance``; returns it with its id."""
        now = time.time()
        values = {
            "job_id": draft.job_id,
            "job_type": draft.job_type,
            "data_json": json.dumps(draft.context_data, separators=(",", ":")),
            "tags_json": json.dumps(list(draft.tags)),
            "search_text": entry_text(draft.job_id, draft.job_type, draft.tags, draft.context_data),
            "source_kind": provenance.kind,
            "source_by": provenance.by,
            "run_id": provenance.run_id,
            "step_id": provenance.step_id,
            "agent": provenance.agent,
            "created_at": now,
            "updated_at": now,
        }

        def work(conn: Connection) -> ContextEntry:
            new_id = conn.execute(insert(context_entries).values(**values)).inserted_primary_key
            assert new_id is not None
            return _get(conn, int(new_id[0]))

        return await self.database.write(work)

    async def add_many(self, drafts: Sequence[ContextDraft], provenance: Provenance) -> int:
        """Store several entries in one transaction (imports and benchmarks)."""
        now = time.time()
        rows = [
            {
                "job_id": d.job_id,
                "job_type": d.job_type,
                "data_json": json.dumps(d.context_data, separators=(",", ":")),
                "tags_json": json.dumps(list(d.tags)),
                "search_text": entry_text(d.job_id, d.job_type, d.tags, d.context_data),
                "source_kind": provenance.kind,
                "source_by": provenance.by,
                "run_id": provenance.run_id,
                "step_id": provenance.step_id,
                "agent": provenance.agent,
                "created_at": now,
                "updated_at": now,
            }
            for d in drafts
        ]

        def work(conn: Connection) -> int:
            if rows:
                conn.execute(insert(context_entries), rows)
            return len(rows)

        return await self.database.write(work)

    async def get(self, entry_id: int) -> ContextEntry:
        return await self.database.read(lambda conn: _get(conn, entry_id))

    async def list(
        self, where: ContextFilter = ANY_ENTRY, *, limit: int = 100, offset: int = 0
    ) -> builtins.list[ContextEntry]:
        """Entries matching ``where``, newest first."""
        query = (
            select(*_ROW)
            .where(*_conditions(where))
            .order_by(_c.created_at.desc(), _c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return await self.database.read(lambda conn: [_entry(row) for row in conn.execute(query)])

    async def count(self, where: ContextFilter = ANY_ENTRY) -> int:
        query = select(func.count()).select_from(context_entries).where(*_conditions(where))
        return await self.database.read(lambda conn: int(conn.execute(query).scalar_one()))

    async def search(
        self, query: str, where: ContextFilter = ANY_ENTRY, *, limit: int = 10
    ) -> builtins.list[ContextEntry]:
        """Entries matching every word of ``query`` and ``where``, best first.

        A query with no words (only punctuation) matches nothing rather than everything.
        """
        words = query_words(query)
        if not words:
            return []
        dialect = self.database.dialect
        conditions = _conditions(where)

        def work(conn: Connection) -> builtins.list[ContextEntry]:
            statement: Select[Any]
            if dialect == "postgresql":
                ts = func.plainto_tsquery(literal_column("'english'::regconfig"), tsquery(words))
                vector: ColumnElement[Any] = literal_column("context_entries.search")
                rank = func.ts_rank_cd(vector, ts).label("rank")
                statement = (
                    select(*_ROW, rank)
                    .where(vector.op("@@")(ts), *conditions)
                    .order_by(rank.desc(), _c.id.desc())
                    .limit(limit)
                )
            else:
                fts = table("context_fts", column("rowid"))
                statement = (
                    select(*_ROW, literal_column("-bm25(context_fts)").label("rank"))
                    .select_from(context_entries.join(fts, fts.c.rowid == _c.id))
                    .where(
                        text("context_fts MATCH :q").bindparams(q=fts5_match(words)),
                        *conditions,
                    )
                    .order_by(literal_column("bm25(context_fts)"), _c.id.desc())
                    .limit(limit)
                )
            return [_entry(row, float(row.rank)) for row in conn.execute(statement)]

        return await self.database.read(work)

    async def update(self, entry_id: int, patch: ContextPatch) -> ContextEntry:
        """Change the fields ``patch`` sets; the search text follows."""

        def work(conn: Connection) -> ContextEntry:
            current = _get(conn, entry_id)
            fields = patch.model_fields_set
            job_id = patch.job_id if patch.job_id is not None else current.job_id
            job_type = patch.job_type if patch.job_type is not None else current.job_type
            tags = patch.tags if patch.tags is not None else current.tags
            data = patch.context_data if "context_data" in fields else current.context_data
            conn.execute(
                update(context_entries)
                .where(_c.id == entry_id)
                .values(
                    job_id=job_id,
                    job_type=job_type,
                    tags_json=json.dumps(list(tags)),
                    data_json=json.dumps(data, separators=(",", ":")),
                    search_text=entry_text(job_id, job_type, tags, data),
                    updated_at=time.time(),
                )
            )
            return _get(conn, entry_id)

        return await self.database.write(work)

    async def delete(self, entry_id: int) -> None:
        def work(conn: Connection) -> None:
            if conn.execute(delete(context_entries).where(_c.id == entry_id)).rowcount != 1:
                raise ContextNotFound(entry_id)

        await self.database.write(work)


def _get(conn: Connection, entry_id: int) -> ContextEntry:
    row = conn.execute(select(*_ROW).where(_c.id == entry_id)).first()
    if row is None:
        raise ContextNotFound(entry_id)
    return _entry(row)
