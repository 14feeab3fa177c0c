"""The context store: ``context_entries`` and its full-text index.

SQLite: an FTS5 table over ``search_text`` with external content (the entries' own
rows), kept in step by triggers, so a write is one transaction and the index can
never disagree with the table. PostgreSQL: a generated ``tsvector`` column with a GIN
index. Both use stemming (``porter`` / ``english``), so "CTOs" finds "CTO".

Revision ID: 0007_context
Revises: 0009_messages
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_context"
down_revision = "0009_messages"
branch_labels = None
depends_on = None

_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE context_fts USING fts5(search_text, content='context_entries', "
    "content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER context_fts_insert AFTER INSERT ON context_entries BEGIN "
    "INSERT INTO context_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER context_fts_delete AFTER DELETE ON context_entries BEGIN "
    "INSERT INTO context_fts(context_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER context_fts_update AFTER UPDATE OF search_text ON context_entries BEGIN "
    "INSERT INTO context_fts(context_fts, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO context_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]


def upgrade() -> None:
    op.create_table(
        "context_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(200), nullable=False),
        sa.Column("job_type", sa.String(100), nullable=False),
        sa.Column("data_json", sa.Text, nullable=False),
        sa.Column("tags_json", sa.Text, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("source_kind", sa.String(8), nullable=False),
        sa.Column("source_by", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(32)),
        sa.Column("step_id", sa.String(100)),
        sa.Column("agent", sa.String(100)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_context_type_time", "context_entries", ["job_type", "created_at"])
    op.create_index("ix_context_job", "context_entries", ["job_id", "created_at"])
    op.create_index("ix_context_run", "context_entries", ["run_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE context_entries ADD COLUMN search tsvector "
            "GENERATED ALWAYS AS (to_tsvector('english', search_text)) STORED"
        )
        op.execute("CREATE INDEX ix_context_search ON context_entries USING gin (search)")
    else:
        for statement in _SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for name in ("context_fts_update", "context_fts_delete", "context_fts_insert"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS context_fts")
    op.drop_table("context_entries")
