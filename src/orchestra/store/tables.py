"""The database schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` create it.

Times are UNIX epoch seconds (float) so SQLite and PostgreSQL behave the same
and comparisons against "now" need no time-zone handling. JSON columns are
text written by the store (compact ``json.dumps``) for the same reason.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("workflow_name", String(200), nullable=False),
    Column("spec_json", Text, nullable=False),
    Column("source_hash", String(64), nullable=False),
    Column("inputs_json", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("finished_at", Float),
    # Sequence counter on PostgreSQL, incremented in the transaction that inserts events
    # (the row lock orders writers). SQLite leaves it at 0: its single writer numbers
    # events from the last stored seq, and RunRecord.last_seq is read from events.
    Column("last_seq", Integer, nullable=False, default=0),
    Column("owner", String(200)),
    Column("lease_expires_at", Float),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("error_json", Text),
)
Index("ix_runs_created_at", runs.c.created_at)

steps = Table(
    "steps",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("step_id", String(200), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("attempt", Integer, nullable=False, default=0),
    # Fencing version: grows with every claim; commits must carry the current one.
    Column("fence", Integer, nullable=False, default=0),
    Column("lease_owner", String(200)),
    Column("lease_expires_at", Float),
    Column("outputs_json", Text),
    Column("usage_json", Text),
    Column("error_json", Text),
    Column("started_at", Float),
    Column("finished_at", Float),
)

step_attempts = Table(
    "step_attempts",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("step_id", String(200), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("fence", Integer, nullable=False),
    Column("owner", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("usage_json", Text),
    Column("error_json", Text),
    # The node name of the ``orchestra worker`` that ran it (migration 0010); NULL in-process.
    Column("worker", String(200)),
)

events = Table(
    "events",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    # Unique per run by the primary key: a duplicate seq can never be stored.
    Column("seq", Integer, primary_key=True),
    Column("type", String(32), nullable=False),
    Column("step_id", String(200)),
    Column("ts", Float, nullable=False),
    Column("content_json", Text, nullable=False),
)

approvals = Table(
    "approvals",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("step_id", String(200), primary_key=True),
    Column("requested_at", Float, nullable=False),
    Column("decision", String(16)),
    Column("decided_by", String(200)),
    Column("reason", Text),
    Column("decided_at", Float),
)

model_calls = Table(
    "model_calls",
    metadata,
    # One row per call through the gateway (migration 0003); the usage roll-ups of
    # ``orchestra runs show`` and ``GET /runs/{id}/usage`` are sums over these rows.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id", ondelete="CASCADE")),
    Column("step_id", String(200)),
    Column("attempt", Integer),
    Column("agent", String(200), nullable=False),
    Column("requested_model", String(300), nullable=False),
    Column("model", String(300), nullable=False),
    Column("deployment", String(500), nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("cost_usd", Float, nullable=False),
    Column("latency_s", Float, nullable=False),
    Column("retries", Integer, nullable=False),
    Column("fallbacks", Integer, nullable=False),
    Column("cached", Boolean, nullable=False),
    Column("error", String(64)),
    Column("created_at", Float, nullable=False),
    # The call's failed tries as JSON text (migration 0004): deployment, error, latency.
    Column("failed_attempts", Text),
)
Index("ix_model_calls_run_step", model_calls.c.run_id, model_calls.c.step_id)
