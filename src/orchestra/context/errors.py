"""Errors of the context store.

Tree::

    ContextError
    ├── ContextNotFound     user mistake: no entry with that id
    └── ContextInputError   user mistake: bad JSON, too large, a malformed tag (names the field)
"""

from __future__ import annotations

from orchestra.errors import NotFoundMistake, OrchestraError, UserMistake


class ContextError(OrchestraError):
    """Base of every context store error."""


class ContextNotFound(ContextError, NotFoundMistake):
    code = "context_not_found"

    def __init__(self, entry_id: int) -> None:
        super().__init__(
            f"no context entry with id {entry_id}; list them with `orchestra context list`"
        )
        self.entry_id = entry_id


class ContextInputError(ContextError, UserMistake):
    code = "invalid_context"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"context {field}: {problem}")
        self.field = field
        self.problem = problem
