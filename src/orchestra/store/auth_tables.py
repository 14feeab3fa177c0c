"""Tables of the HTTP API's own state: hashed API keys and the audit log.

They live in the shared ``metadata`` (so one schema describes the database)
but in their own module: the run store never touches them. Migration
``0002_api_keys_audit`` creates them.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text

from orchestra.store.tables import metadata

api_keys = Table(
    "api_keys",
    metadata,
    # Public part of the key (``orch_<id>_<secret>``): listed, revoked and logged by it.
    Column("id", String(16), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("role", String(16), nullable=False),
    # SHA-256 of the whole key, hex; see orchestra.runtime.keys for why not a slow KDF.
    Column("key_hash", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float),
    Column("revoked_at", Float),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(300), nullable=False),
    Column("details_json", Text, nullable=False),
)
Index("ix_audit_log_at", audit_log.c.at)
