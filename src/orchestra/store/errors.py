"""Errors raised by the store.

Tree (each class also derives from the family in ``orchestra.errors`` named)::

    StoreError
    ├── DatabaseUrlError     UserMistake: the database URL names an unsupported driver
    └── DatabaseUnavailable  RuntimeFailure: the database cannot be opened or reached (retryable)

Engine-level errors (``RunNotFound``, ``IllegalTransition``, ``LeaseLost``,
``ApprovalError``) are raised from ``orchestra.engine.errors`` since the store
implements the engine's ``RunStore`` protocol.
"""

from __future__ import annotations

from typing import ClassVar

from orchestra.errors import OrchestraError, RuntimeFailure, UserMistake


class StoreError(OrchestraError):
    """Base class of store errors."""

    code: ClassVar[str] = "store_error"


class DatabaseUrlError(StoreError, UserMistake):
    code: ClassVar[str] = "invalid_database_url"

    def __init__(self, url: str) -> None:
        super().__init__(
            f"unsupported database URL {url!r}; use sqlite+aiosqlite:///path/to/orchestra.db "
            "or postgresql+asyncpg://user:password@host:port/db (ORCHESTRA_DATABASE_URL)"
        )


class DatabaseUnavailable(StoreError, RuntimeFailure):
    code: ClassVar[str] = "database_unavailable"
    retryable = True
