"""Errors raised by the runtime services.

Tree::

    RuntimeServiceError
    ├── NotFound            user mistake: no such run, step, key or model alias
    ├── Conflict            user mistake: the request does not fit the current state
    │                       (cancelling a finished run, resuming a run another process drives)
    ├── InvalidRequest      user mistake: a value the service cannot use (bad role, bad cursor)
    └── ShuttingDown        control signal: the service stopped accepting new work

Engine and definition errors (``RunNotFound``, ``WorkflowInputError``,
``ApprovalError``, ``DefinitionError``) pass through unchanged; adapters map them.
"""

from __future__ import annotations


class RuntimeServiceError(Exception):
    """Base class of runtime service errors."""


class NotFound(RuntimeServiceError):
    """The named thing does not exist."""


class Conflict(RuntimeServiceError):
    """The request is valid but the current state does not allow it."""


class InvalidRequest(RuntimeServiceError):
    """A value the caller sent cannot be used; the message says which and why."""


class ShuttingDown(RuntimeServiceError):
    """The process is shutting down and accepts no new runs; retry against the restarted server."""

    retryable = True
