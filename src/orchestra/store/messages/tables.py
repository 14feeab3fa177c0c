"""Tables of the message bus (migration ``0009_messages`` creates them).

``messages`` is the history (every published message, kept ``retention_s``);
``message_deliveries`` holds one row per (message, subscription) until it is
acknowledged — a ``ready`` row is waiting or in flight (``available_at`` is when
it may be handed out again), a ``dead`` row is in the dead-letter queue.
``message_meta.subscriptions`` is bumped on every subscription change so a
publisher rebuilds its routing index only then.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from orchestra.store.tables import metadata

messages = Table(
    "messages",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(40), nullable=False, unique=True),
    Column("sender", String(100), nullable=False),
    Column("recipient", String(100)),
    Column("topic", String(200)),
    Column("broadcast", Boolean, nullable=False, default=False),
    Column("priority", Integer, nullable=False),
    Column("headers_json", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("compressed", Boolean, nullable=False, default=False),
    Column("size", Integer, nullable=False),
    Column("ttl_s", Float),
    Column("expires_at", Float),
    Column("dedupe_key", String(200), unique=True),
    Column("published_at", Float, nullable=False),
)
Index("ix_messages_published", messages.c.published_at)

message_subscriptions = Table(
    "message_subscriptions",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("agent", String(100), nullable=False),
    Column("patterns_json", Text, nullable=False),
    Column("filters_json", Text, nullable=False),
    Column("inbox", Boolean, nullable=False, default=False),
    Column("max_deliveries", Integer),
    Column("created_at", Float, nullable=False),
)

message_deliveries = Table(
    "message_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_seq", Integer, nullable=False),
    Column("subscription", String(200), nullable=False),
    Column("priority", Integer, nullable=False),
    # "ready" (waiting or in flight) or "dead" (in the dead-letter queue).
    Column("state", String(8), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("available_at", Float, nullable=False),
    Column("consumer", String(200)),
    Column("reason", Text),
    Column("dead_at", Float),
)
# The claim query: ready rows of a subscription, highest priority first, then oldest.
Index(
    "ix_message_deliveries_claim",
    message_deliveries.c.state,
    message_deliveries.c.subscription,
    message_deliveries.c.priority,
    message_deliveries.c.id,
)
Index("ix_message_deliveries_message", message_deliveries.c.message_seq)

message_topics = Table(
    "message_topics",
    metadata,
    Column("topic", String(200), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("last_at", Float, nullable=False),
)

message_meta = Table(
    "message_meta",
    metadata,
    Column("key", String(50), primary_key=True),
    Column("value", Integer, nullable=False),
)
