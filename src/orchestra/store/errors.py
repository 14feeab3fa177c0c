"""Errors raised by the store.

Tree::

    StoreError
    ├── DatabaseUrlError     user mistake: the database URL names an unsupported driver
    └── DatabaseUnavailable  runtime failure: the database cannot be opened or reached (retryable)

Engine-level errors (``RunNotFound``, ``IllegalTransition``, ``LeaseLost``,
``ApprovalError``) are raised from ``orchestra.engine.errors`` since the store
implements the engine's ``RunStore`` protocol.
"""

from __future__ import annotations


class StoreError(Exception):
    """Base class of store errors."""


class DatabaseUrlError(StoreError):
    def __init__(self, url: str) -> None:
        super().__init__(
            f"unsupported database URL {url!r}; use sqlite+aiosqlite:///path/to/orchestra.db "
            "or postgresql+asyncpg://user:password@host:port/db (ORCHESTRA_DATABASE_URL)"
        )


class DatabaseUnavailable(StoreError):
    retryable = True
