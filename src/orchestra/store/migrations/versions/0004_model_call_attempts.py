"""The failed tries of each model call: ``model_calls.failed_attempts``.

A JSON list (text, like the other JSON columns) of ``{deployment, error,
latency_s, message}``, one per try that did not answer, in order; NULL on rows
written before this migration, read as an empty list.

Revision ID: 0004_model_call_attempts
Revises: 0003_model_calls
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_model_call_attempts"
down_revision = "0003_model_calls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_calls") as batch:
        batch.add_column(sa.Column("failed_attempts", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("model_calls") as batch:
        batch.drop_column("failed_attempts")
