"""Agents registered at run time keep their whole definition: ``agents.spec_json``.

An agent from a project file has its file as the definition (NULL here); one
registered through ``POST /api/v1/agents`` has no file, so its ``AgentSpec`` is
stored as JSON and any process can run it.

Revision ID: 0006_agent_specs
Revises: 0005_agents_tasks
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_agent_specs"
down_revision = "0005_agents_tasks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("spec_json", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("spec_json")
