"""Per-call model usage: one row per call through the gateway.

Revision ID: 0003_model_calls
Revises: 0002_api_keys_audit
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_model_calls"
down_revision = "0002_api_keys_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_calls",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE")),
        sa.Column("step_id", sa.String(200)),
        sa.Column("attempt", sa.Integer),
        sa.Column("agent", sa.String(200), nullable=False),
        sa.Column("requested_model", sa.String(300), nullable=False),
        sa.Column("model", sa.String(300), nullable=False),
        sa.Column("deployment", sa.String(500), nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
        sa.Column("latency_s", sa.Float, nullable=False),
        sa.Column("retries", sa.Integer, nullable=False),
        sa.Column("fallbacks", sa.Integer, nullable=False),
        sa.Column("cached", sa.Boolean, nullable=False),
        sa.Column("error", sa.String(64)),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_model_calls_run_step", "model_calls", ["run_id", "step_id"])


def downgrade() -> None:
    op.drop_index("ix_model_calls_run_step", "model_calls")
    op.drop_table("model_calls")
