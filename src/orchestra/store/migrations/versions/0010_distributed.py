"""Which worker ran each attempt: ``step_attempts.worker``.

A step executed by an ``orchestra worker`` (Celery) records the worker's node name
on its attempt, so ``orchestra runs show`` and the Run page can say where each step
ran; attempts run in-process (the local executor) leave it NULL.

Revision ID: 0010_distributed
Revises: 0006_agent_specs
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_distributed"
down_revision = "0006_agent_specs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("step_attempts") as batch:
        batch.add_column(sa.Column("worker", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("step_attempts") as batch:
        batch.drop_column("worker")
