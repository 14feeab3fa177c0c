"""Runs, steps, step attempts, events and approvals.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("workflow_name", sa.String(200), nullable=False),
        sa.Column("spec_json", sa.Text, nullable=False),
        sa.Column("source_hash", sa.String(64), nullable=False),
        sa.Column("inputs_json", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("lease_expires_at", sa.Float),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("error_json", sa.Text),
    )
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_table(
        "steps",
        sa.Column(
            "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("step_id", sa.String(200), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("fence", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_expires_at", sa.Float),
        sa.Column("outputs_json", sa.Text),
        sa.Column("usage_json", sa.Text),
        sa.Column("error_json", sa.Text),
        sa.Column("started_at", sa.Float),
        sa.Column("finished_at", sa.Float),
    )
    op.create_table(
        "step_attempts",
        sa.Column(
            "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("step_id", sa.String(200), primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("fence", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float),
        sa.Column("usage_json", sa.Text),
        sa.Column("error_json", sa.Text),
    )
    op.create_table(
        "events",
        sa.Column(
            "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("step_id", sa.String(200)),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("content_json", sa.Text, nullable=False),
    )
    op.create_table(
        "approvals",
        sa.Column(
            "run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("step_id", sa.String(200), primary_key=True),
        sa.Column("requested_at", sa.Float, nullable=False),
        sa.Column("decision", sa.String(16)),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("reason", sa.Text),
        sa.Column("decided_at", sa.Float),
    )


def downgrade() -> None:
    for table in ("approvals", "events", "step_attempts", "steps", "runs"):
        op.drop_table(table)
