"""Errors raised by the engine.

Tree::

    EngineError
    ├── WorkflowInputError      user mistake: a required input is missing or unknown
    ├── ExpressionError         user mistake: a ``When:`` condition does not parse or evaluate
    ├── RunNotFound             user mistake: no run with that id
    ├── ApprovalError           user mistake: approving a step that is not awaiting approval
    ├── IllegalTransition       bug or race: a state change the state machine forbids
    ├── StepFailed              runtime failure of one step (``retryable`` says whether to retry)
    │   └── StepTimeout         the step ran longer than its ``Timeout:``
    ├── LeaseLost               control signal: another owner holds (or took over) the lease
    └── RunBusy                 control signal: a live process is already driving the run
"""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """Base class of every engine error."""


class WorkflowInputError(EngineError):
    """The inputs given to a run do not match the workflow's declared inputs."""


class ExpressionError(EngineError):
    """A ``When:`` expression is malformed or cannot be evaluated."""

    def __init__(self, message: str, *, expression: str = "", position: int | None = None):
        where = f" at column {position + 1}" if position is not None else ""
        super().__init__(
            f"{message}{where} in condition {expression!r}; conditions support "
            "==, !=, <, >, <=, >=, in, contains, and, or, not, parentheses, "
            "quoted strings, numbers and ${Var} (see docs/engine.md)"
        )
        self.expression = expression
        self.position = position


class RunNotFound(EngineError):
    def __init__(self, run_id: str):
        super().__init__(f"no run with id {run_id!r}; list runs with `orchestra runs list`")
        self.run_id = run_id


class ApprovalError(EngineError):
    """An approve/reject names a step that is not waiting for a decision."""


class IllegalTransition(EngineError):
    """A run or step was asked to move to a state its state machine does not allow."""

    def __init__(self, kind: str, ident: str, source: str, target: str):
        super().__init__(
            f"{kind} {ident}: cannot go from {source!r} to {target!r}; "
            "this is a bug or a concurrent change, inspect with `orchestra runs show`"
        )
        self.source = source
        self.target = target


class StepFailed(EngineError):
    """A step attempt failed. ``retryable`` tells the scheduler whether another attempt may help."""

    def __init__(self, message: str, *, retryable: bool = True, data: dict[str, Any] | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.data = data or {}


class StepTimeout(StepFailed):
    def __init__(self, step_id: str, timeout_s: float):
        super().__init__(
            f"step {step_id!r} did not finish within {timeout_s:g}s; raise its "
            "`* **Timeout:**` or make the step smaller",
            retryable=True,
        )


class LeaseLost(EngineError):
    """The attempt's lease was renewed or committed under a stale fencing version."""


class RunBusy(EngineError):
    """Another live process owns the run; wait for it or stop it first."""
