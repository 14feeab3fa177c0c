"""The context store's table (migration ``0007_context`` creates it and its index).

``search_text`` is the entry's words (:func:`orchestra.context.search_text.entry_text`);
the full-text index over it is not a SQLAlchemy object because each backend has its
own: on SQLite the FTS5 table ``context_fts`` (external content, kept in step by
triggers), on PostgreSQL the generated ``tsvector`` column ``search`` with a GIN index.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text

from orchestra.store.tables import metadata

context_entries = Table(
    "context_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(200), nullable=False),
    Column("job_type", String(100), nullable=False),
    Column("data_json", Text, nullable=False),
    Column("tags_json", Text, nullable=False),
    Column("search_text", Text, nullable=False),
    # Provenance: "user" (source_by is the key's name) or "step" (run, step, agent).
    Column("source_kind", String(8), nullable=False),
    Column("source_by", String(200), nullable=False),
    Column("run_id", String(32)),
    Column("step_id", String(100)),
    Column("agent", String(100)),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
Index("ix_context_type_time", context_entries.c.job_type, context_entries.c.created_at)
Index("ix_context_job", context_entries.c.job_id, context_entries.c.created_at)
Index("ix_context_run", context_entries.c.run_id)
