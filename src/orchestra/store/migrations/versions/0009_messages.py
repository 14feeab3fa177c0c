"""The message bus on the database: messages, subscriptions, deliveries, topics.

Revision ID: 0009_messages
Revises: 0010_distributed
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_messages"
down_revision = "0010_distributed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column("sender", sa.String(100), nullable=False),
        sa.Column("recipient", sa.String(100)),
        sa.Column("topic", sa.String(200)),
        sa.Column("broadcast", sa.Boolean, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("headers_json", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("compressed", sa.Boolean, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("ttl_s", sa.Float),
        sa.Column("expires_at", sa.Float),
        sa.Column("dedupe_key", sa.String(200), unique=True),
        sa.Column("published_at", sa.Float, nullable=False),
    )
    op.create_index("ix_messages_published", "messages", ["published_at"])
    op.create_table(
        "message_subscriptions",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("agent", sa.String(100), nullable=False),
        sa.Column("patterns_json", sa.Text, nullable=False),
        sa.Column("filters_json", sa.Text, nullable=False),
        sa.Column("inbox", sa.Boolean, nullable=False),
        sa.Column("max_deliveries", sa.Integer),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "message_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("message_seq", sa.Integer, nullable=False),
        sa.Column("subscription", sa.String(200), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("available_at", sa.Float, nullable=False),
        sa.Column("consumer", sa.String(200)),
        sa.Column("reason", sa.Text),
        sa.Column("dead_at", sa.Float),
    )
    op.create_index(
        "ix_message_deliveries_claim",
        "message_deliveries",
        ["state", "subscription", "priority", "id"],
    )
    op.create_index("ix_message_deliveries_message", "message_deliveries", ["message_seq"])
    op.create_table(
        "message_topics",
        sa.Column("topic", sa.String(200), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("last_at", sa.Float, nullable=False),
    )
    op.create_table(
        "message_meta",
        sa.Column("key", sa.String(50), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "message_meta",
        "message_topics",
        "message_deliveries",
        "message_subscriptions",
        "messages",
    ):
        op.drop_table(table)
