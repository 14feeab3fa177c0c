"""Registered agents (lifecycle transitions, sessions) and the task queue.

Revision ID: 0005_agents_tasks
Revises: 0004_model_call_attempts
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_agents_tasks"
down_revision = "0004_model_call_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("capabilities_json", sa.Text, nullable=False),
        sa.Column("complexity_min", sa.Integer, nullable=False),
        sa.Column("complexity_max", sa.Integer, nullable=False),
        sa.Column("max_tasks", sa.Integer, nullable=False),
        sa.Column("weight", sa.Float, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("active_tasks", sa.Integer, nullable=False),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("last_active_at", sa.Float),
        sa.Column("heartbeat_owner", sa.String(200)),
        sa.Column("heartbeat_at", sa.Float),
        sa.Column("registered_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "agent_transitions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("agent", sa.String(100), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("source", sa.String(16)),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_agent_transitions_agent", "agent_transitions", ["agent", "id"])
    op.create_table(
        "agent_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("agent", sa.String(100), nullable=False),
        sa.Column("task_id", sa.String(32), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float),
        sa.Column("outcome", sa.String(16)),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("cost_usd", sa.Float, nullable=False),
    )
    op.create_index("ix_agent_sessions_agent", "agent_sessions", ["agent", "started_at"])
    op.create_index("ix_agent_sessions_task", "agent_sessions", ["task_id"])
    op.create_table(
        "tasks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("complexity", sa.Integer, nullable=False),
        sa.Column("capabilities_json", sa.Text, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("workflow", sa.String(200)),
        sa.Column("inputs_json", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.String(200), unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("agent", sa.String(100)),
        sa.Column("run_id", sa.String(32)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("wait_reason", sa.Text),
        sa.Column("error_json", sa.Text),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("assigned_at", sa.Float),
        sa.Column("finished_at", sa.Float),
    )
    op.create_index("ix_tasks_queue", "tasks", ["status", "priority", "created_at"])
    op.create_index("ix_tasks_agent", "tasks", ["agent", "status"])
    op.create_table(
        "task_updates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(32), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16)),
        sa.Column("target", sa.String(16)),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
    )
    op.create_index("ix_task_updates_task", "task_updates", ["task_id", "id"])


def downgrade() -> None:
    op.drop_table("task_updates")
    op.drop_table("tasks")
    op.drop_table("agent_sessions")
    op.drop_table("agent_transitions")
    op.drop_table("agents")
