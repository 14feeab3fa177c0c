"""Persistence of API keys and audit entries (the tables in ``auth_tables``).

Plain rows in, plain rows out: hashing, roles and policy live in
``orchestra.runtime.keys``. Audit pages are newest first with an opaque cursor
(the last entry's id).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from orchestra.store.auth_tables import api_keys, audit_log
from orchestra.store.database import Database


@dataclass(frozen=True, slots=True)
class KeyRow:
    id: str
    name: str
    role: str
    key_hash: str
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: float
    key_id: str
    action: str
    target: str
    details: dict[str, Any]


def _key(row: Any) -> KeyRow:
    return KeyRow(
        row.id,
        row.name,
        row.role,
        row.key_hash,
        row.created_at,
        row.last_used_at,
        row.revoked_at,
    )


class KeyRepository:
    """Rows of ``api_keys``."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def insert(self, key_id: str, name: str, role: str, key_hash: str) -> KeyRow:
        now = time.time()

        def work(conn: Connection) -> None:
            conn.execute(
                insert(api_keys).values(
                    id=key_id, name=name, role=role, key_hash=key_hash, created_at=now
                )
            )

        await self.database.write(work)
        return KeyRow(key_id, name, role, key_hash, now, None, None)

    async def get(self, key_id: str) -> KeyRow | None:
        def work(conn: Connection) -> Any:
            return conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()

        row = await self.database.read(work)
        return None if row is None else _key(row)

    async def list(self, *, include_revoked: bool = True) -> list[KeyRow]:
        def work(conn: Connection) -> list[Any]:
            query = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
            if not include_revoked:
                query = query.where(api_keys.c.revoked_at.is_(None))
            return list(conn.execute(query).all())

        return [_key(row) for row in await self.database.read(work)]

    async def count(self) -> int:
        def work(conn: Connection) -> int:
            return int(conn.execute(select(func.count()).select_from(api_keys)).scalar_one())

        return await self.database.read(work)

    async def revoke(self, key_id: str) -> KeyRow | None:
        """Mark the key revoked (idempotent); None when there is no such key."""
        now = time.time()

        def work(conn: Connection) -> Any:
            conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            return conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()

        row = await self.database.write(work)
        return None if row is None else _key(row)

    async def touch(self, key_id: str, at: float) -> None:
        def work(conn: Connection) -> None:
            conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=at))

        await self.database.write(work)


class AuditRepository:
    """Rows of ``audit_log``: append and page through, newest first."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def append(self, key_id: str, action: str, target: str, details: dict[str, Any]) -> None:
        now = time.time()
        text = json.dumps(details, separators=(",", ":"), default=str)

        def work(conn: Connection) -> None:
            conn.execute(
                insert(audit_log).values(
                    at=now, key_id=key_id, action=action, target=target[:300], details_json=text
                )
            )

        await self.database.write(work)

    async def page(self, limit: int, before_id: int | None = None) -> list[AuditRow]:
        def work(conn: Connection) -> list[Any]:
            query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
            if before_id is not None:
                query = query.where(audit_log.c.id < before_id)
            return list(conn.execute(query).all())

        return [
            AuditRow(r.id, r.at, r.key_id, r.action, r.target, json.loads(r.details_json))
            for r in await self.database.read(work)
        ]
