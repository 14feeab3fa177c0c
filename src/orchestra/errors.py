"""The root of every error Orchestra raises, and the three families they belong to.

Each package keeps its own ``errors.py`` with its tree in the docstring; every class
there also derives from exactly one family below, so an adapter (the API, the CLI)
can answer any error by its family without knowing the class, and a new error can
never silently become a 500::

    OrchestraError
    ├── UserMistake       the caller can fix it: a bad file, input, name or request
    │   ├── NotFoundMistake    the thing named does not exist (HTTP 404)
    │   └── ConflictMistake    the request fights the current state (HTTP 409)
    ├── RuntimeFailure    something failed while working; ``retryable`` says whether
    │                     trying again later may succeed (HTTP 502/503)
    └── ControlSignal     not a failure: flow control between components (a lease
                          taken over, a run already driven elsewhere)

The mixins carry no state of their own except ``RuntimeFailure.retryable`` and the
optional ``code``; a package error keeps its own ``__init__``.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "ConflictMistake",
    "ControlSignal",
    "NotFoundMistake",
    "OrchestraError",
    "RuntimeFailure",
    "UserMistake",
    "root_cause",
]


class OrchestraError(Exception):
    """Base of every error Orchestra raises on purpose.

    ``code`` is the stable machine-readable name adapters put in answers
    (docs/api.md lists them); subclasses override it.
    """

    code: ClassVar[str] = "error"


class UserMistake(OrchestraError):
    """The caller can fix this: the message says how (the flag, the file, the closest name)."""

    code: ClassVar[str] = "invalid_request"


class NotFoundMistake(UserMistake):
    """The run, workflow, key or file named does not exist."""

    code: ClassVar[str] = "not_found"


class ConflictMistake(UserMistake):
    """The request is well formed but the current state forbids it (e.g. approving a
    step that is not awaiting approval)."""

    code: ClassVar[str] = "conflict"


class RuntimeFailure(OrchestraError):
    """Something failed while doing the work. ``retryable`` is true when the same call
    may succeed later unchanged (a database that is briefly unavailable, a provider's
    rate limit), false when it will fail the same way again."""

    code: ClassVar[str] = "failed"
    retryable: bool = False


class ControlSignal(OrchestraError):
    """Flow control between components, never shown to a user as a failure."""

    code: ClassVar[str] = "signal"


def root_cause(error: BaseException) -> OrchestraError | None:
    """The Orchestra error to report for ``error``: the innermost one along the
    ``raise … from`` chain, looking inside exception groups (the engine's task groups
    wrap what its steps raise), so a step failure caused by a full disk reports the
    full disk. None when no Orchestra error is involved (a bug: keep its traceback)."""
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = root_cause(inner)
            if found is not None:
                return found
        return None
    deeper = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    found = root_cause(deeper) if deeper is not None and deeper is not error else None
    if found is not None:
        return found
    return error if isinstance(error, OrchestraError) else None
