"""Delegated tasks: the agent a task is for, and the step that delegated it.

``tasks.assignee`` pins a task to one agent by name (the ``delegate`` tool's
``agent``); ``tasks.parent_run_id``/``parent_step_id`` name the step whose agent
handed the task over, so the run's page and its DAG can show it as that step's child.
All three are NULL for a task a user queued.

Revision ID: 0011_task_delegation
Revises: 0007_context
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_task_delegation"
down_revision = "0007_context"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("assignee", sa.String(100)))
        batch.add_column(sa.Column("parent_run_id", sa.String(32)))
        batch.add_column(sa.Column("parent_step_id", sa.String(200)))
    op.create_index("ix_tasks_parent", "tasks", ["parent_run_id", "parent_step_id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_parent", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("parent_step_id")
        batch.drop_column("parent_run_id")
        batch.drop_column("assignee")
