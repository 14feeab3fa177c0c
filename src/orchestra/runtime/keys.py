"""API keys: creation, verification, revocation, roles, and the first admin key.

A key reads ``orch_<id>_<secret>``: ``id`` (12 hex chars) is public and names
the key in listings and the audit log; ``secret`` is 32 random bytes
(``secrets.token_urlsafe``). Only SHA-256 of the whole key is stored.

Why SHA-256 and not scrypt/argon2: slow KDFs protect *low-entropy* secrets
(passwords) against offline guessing. A 256-bit random secret cannot be guessed
whatever the hash speed, so a fast hash loses nothing, while a slow KDF would
add tens of milliseconds and a CPU spike to every authenticated request.
Comparison is constant-time (``hmac.compare_digest``).

Roles are ordered: ``viewer`` (read) < ``operator`` (start, cancel, resume,
approve, reject, probe) < ``admin`` (everything, including keys and audit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Literal, get_args

from orchestra.runtime.errors import InvalidRequest, NotFound
from orchestra.store.auth_repo import KeyRepository, KeyRow

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
_RANK = {role: rank for rank, role in enumerate(ROLES)}
PREFIX = "orch"
_TOUCH_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: the key's id and name, and its role."""

    key_id: str
    name: str
    role: Role

    def allows(self, needed: Role) -> bool:
        return _RANK[self.role] >= _RANK[needed]


LOCAL_IDENTITY = Identity("local", "insecure-local", "admin")
"""The caller under ``--insecure-local``: the local machine, with every right."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_role(value: str) -> Role:
    if value not in _RANK:
        raise InvalidRequest(f"unknown role {value!r}; use one of {', '.join(ROLES)}")
    return value


class KeyService:
    """Creates and checks keys. Keys are never logged; only their ids are."""

    def __init__(self, repo: KeyRepository) -> None:
        self.repo = repo
        self._touched: dict[str, float] = {}

    async def create(self, name: str, role: str) -> tuple[KeyRow, str]:
        """A new key; the secret is returned here and nowhere else, ever."""
        checked = parse_role(role)
        if not name.strip():
            raise InvalidRequest("a key needs a name saying who or what uses it, e.g. --name ci")
        key_id = secrets.token_hex(6)
        key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        row = await self.repo.insert(key_id, name.strip(), checked, hash_key(key))
        return row, key

    async def verify(self, key: str) -> Identity | None:
        """The identity behind ``key``, or None when it is unknown, malformed or revoked."""
        prefix, _, rest = key.partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != PREFIX or not key_id or not secret or len(key) > 200:
            return None
        row = await self.repo.get(key_id)
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.key_hash, hash_key(key)):
            return None
        now = time.time()
        if now - self._touched.get(key_id, 0.0) > _TOUCH_EVERY_S:
            self._touched[key_id] = now
            await self.repo.touch(key_id, now)
        return Identity(row.id, row.name, parse_role(row.role))

    async def list(self) -> list[KeyRow]:
        return await self.repo.list()

    async def revoke(self, key_id: str) -> KeyRow:
        row = await self.repo.revoke(key_id)
        if row is None:
            raise NotFound(f"no API key with id {key_id!r}; list keys with `orchestra keys list`")
        return row

    async def ensure_first_admin(self) -> str | None:
        """When no active admin key exists (first start, or every admin key was revoked),
        create one and return its secret; else None."""
        if any(row.role == "admin" for row in await self.repo.list(include_revoked=False)):
            return None
        _, key = await self.create("admin (created on first start)", "admin")
        return key
