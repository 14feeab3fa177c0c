"""Errors raised by the store.

Tree (each class also derives from the family in ``orchestra.errors`` named first)::

    StoreError
    ├── DatabaseUrlError         UserMistake: the database URL names an unsupported backend
    └── DatabaseUnavailable      RuntimeFailure, retryable: the database cannot be opened,
        │                        reached or written
        ├── StorageFull          the disk (or the database's size limit) is full
        └── DatabaseReadOnly     the database accepts no writes (file mode, read-only
                                 mount, a read-only PostgreSQL transaction or standby)

All three runtime failures are retryable: the same write succeeds once the operator
frees space, fixes permissions or promotes the server, and nothing committed before
the fault is lost (a failed write rolls back as a whole). Adapters answer them by
family (the CLI with exit code 1, the server with 503 and ``Retry-After``).

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
            f"unsupported database URL {url!r}; use sqlite:///path/to/orchestra.db "
            "or postgresql://user:password@host:port/db (ORCHESTRA_DATABASE_URL or "
            "[database] url in orchestra.toml)"
        )


class DatabaseUnavailable(StoreError, RuntimeFailure):
    code: ClassVar[str] = "database_unavailable"
    retryable = True


class StorageFull(DatabaseUnavailable):
    """A write failed for lack of space; it was rolled back, earlier writes are intact."""

    code: ClassVar[str] = "storage_full"

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(
            f"the database is full: {where} could not be written ({detail}); nothing "
            "already stored was lost. Free disk space (or raise the database's size "
            "limit), then try again"
        )
        self.where = where


class DatabaseReadOnly(DatabaseUnavailable):
    """A write was refused because the database is read-only; nothing was written."""

    code: ClassVar[str] = "database_read_only"

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(
            f"the database is read-only: {where} cannot be written ({detail}); nothing "
            "already stored was lost. Make the file and its folder writable (or point "
            "ORCHESTRA_DATABASE_URL at a writable primary server), then try again"
        )
        self.where = where
