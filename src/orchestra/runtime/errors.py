"""Errors raised by the runtime services.

Tree::

    RuntimeServiceError
    ├── NotFound            user mistake: no such run, step, key or model alias
    ├── Conflict            user mistake: the request does not fit the current state
    │                       (cancelling a finished run, resuming a run another process drives)
    ├── InvalidRequest      user mistake: a value the service cannot use (bad role, bad cursor)
    └── ShuttingDown        runtime failure (retryable): the service stopped accepting new work

Engine and definition errors (``RunNotFound``, ``WorkflowInputError``,
``ApprovalError``, ``DefinitionError``) pass through unchanged; adapters map them.
"""

from __future__ import annotations

from typing import ClassVar

from orchestra.errors import (
    ConflictMistake,
    NotFoundMistake,
    OrchestraError,
    RuntimeFailure,
    UserMistake,
)


class RuntimeServiceError(OrchestraError):
    """Base class of runtime service errors."""


class NotFound(RuntimeServiceError, NotFoundMistake):
    """The named thing does not exist."""


class Conflict(RuntimeServiceError, ConflictMistake):
    """The request is valid but the current state does not allow it."""


class InvalidRequest(RuntimeServiceError, UserMistake):
    """A value the caller sent cannot be used; the message says which and why."""


class ShuttingDown(RuntimeServiceError, RuntimeFailure):
    """The process is shutting down and accepts no new runs; retry against the restarted
    server (a runtime failure, not a signal: callers get 503 and ``Retry-After``)."""

    code: ClassVar[str] = "shutting_down"
    retryable = True
