"""Errors raised by the engine.

Tree (each class also derives from the family in ``orchestra.errors`` named first)::

    EngineError
    ├── WorkflowInputError      UserMistake: a required input is missing or unknown
    ├── ExpressionError         UserMistake: a ``When:`` condition does not parse or evaluate
    ├── RunNotFound             NotFoundMistake: no run with that id
    ├── ApprovalError           ConflictMistake: approving a step that is not awaiting approval
    ├── IllegalTransition       ConflictMistake: a state change the state machine forbids
    ├── StepFailed              RuntimeFailure of one step (``retryable`` says whether to retry)
    │   ├── StepTimeout         the step ran longer than its ``Timeout:``
    │   ├── StepRejected        a reviewer rejected the step's approval
    │   ├── ExecutorFailed      the executor or the store failed around the step
    │   └── StepBudgetExceeded  the step spent its (or its agent's) ``budget:``
    ├── RunBudgetExceeded       RuntimeFailure: the run spent its workflow ``budget:``
    ├── LeaseLost               ControlSignal: another owner holds (or took over) the lease
    └── RunBusy                 ControlSignal: a live process is already driving the run

:func:`error_data` turns any exception into the one shape stored in step and run
errors and in event contents: ``{"type", "code", "message", "retryable", ...}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from orchestra.errors import (
    ConflictMistake,
    ControlSignal,
    NotFoundMistake,
    OrchestraError,
    RuntimeFailure,
    UserMistake,
)

if TYPE_CHECKING:
    from orchestra.definitions.specs import Budget
    from orchestra.usage import UsageTotals


class EngineError(OrchestraError):
    """Base class of every engine error."""

    code: ClassVar[str] = "engine_error"


class WorkflowInputError(EngineError, UserMistake):
    """The inputs given to a run do not match the workflow's declared inputs."""

    code: ClassVar[str] = "invalid_inputs"


class ExpressionError(EngineError, UserMistake):
    """A ``When:`` expression is malformed or cannot be evaluated."""

    code: ClassVar[str] = "invalid_condition"

    def __init__(self, message: str, *, expression: str = "", position: int | None = None):
        where = f" at column {position + 1}" if position is not None else ""
        super().__init__(
            f"{message}{where} in condition {expression!r}; conditions support "
            "==, !=, <, >, <=, >=, in, contains, and, or, not, parentheses, "
            "quoted strings, numbers and ${Var} (see docs/engine.md)"
        )
        self.expression = expression
        self.position = position


class RunNotFound(EngineError, NotFoundMistake):
    code: ClassVar[str] = "run_not_found"

    def __init__(self, run_id: str):
        super().__init__(f"no run with id {run_id!r}; list runs with `orchestra runs list`")
        self.run_id = run_id


class ApprovalError(EngineError, ConflictMistake):
    """An approve/reject names a step that is not waiting for a decision."""

    code: ClassVar[str] = "not_awaiting_approval"


class IllegalTransition(EngineError, ConflictMistake):
    """A run or step was asked to move to a state its state machine does not allow."""

    code: ClassVar[str] = "illegal_transition"

    def __init__(self, kind: str, ident: str, source: str, target: str):
        super().__init__(
            f"{kind} {ident}: cannot go from {source!r} to {target!r}; "
            "this is a bug or a concurrent change, inspect with `orchestra runs show`"
        )
        self.source = source
        self.target = target


class StepFailed(EngineError, RuntimeFailure):
    """A step attempt failed. ``retryable`` tells the scheduler whether another attempt may help."""

    code: ClassVar[str] = "step_failed"

    def __init__(self, message: str, *, retryable: bool = True, data: dict[str, Any] | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.data = data or {}


class StepTimeout(StepFailed):
    code: ClassVar[str] = "step_timeout"

    def __init__(self, step_id: str, timeout_s: float):
        super().__init__(
            f"step {step_id!r} did not finish within {timeout_s:g}s; raise its "
            "`* **Timeout:**` or make the step smaller",
            retryable=True,
        )


class StepRejected(StepFailed):
    """The step's approval was rejected: it fails without running."""

    code: ClassVar[str] = "rejected"

    def __init__(self, step_id: str, by: str | None, reason: str | None):
        super().__init__(
            f"rejected by {by or 'someone'}" + (f": {reason}" if reason else ""),
            retryable=False,
            data={"step_id": step_id, "by": by, "reason": reason or ""},
        )


class ExecutorFailed(StepFailed):
    """The executor or the store raised while running a step (not the step runner)."""

    code: ClassVar[str] = "executor_failed"

    def __init__(self, step_id: str, error: Exception):
        super().__init__(
            f"executing step {step_id!r} failed: {type(error).__name__}: {error}; "
            "the step is failed; fix the cause and start a new run",
            retryable=False,
            data={"exception": type(error).__name__},
        )


def _amount(what: str, limit: float, spent: float) -> str:
    if what == "cost":
        return f"${spent:.4f} (limit ${limit:.4f})"
    return f"{spent:g} tokens (limit {limit:g})"


class StepBudgetExceeded(StepFailed):
    """One step's model calls spent more than its ``budget:`` (or its agent's) allows.

    Not retryable: another attempt would spend the same again.
    """

    code: ClassVar[str] = "budget_exceeded"

    def __init__(self, step_id: str, scope: str, what: str, limit: float, spent: float):
        where = (
            "the step's `* **Budget:**`"
            if scope == "step"
            else "`budget:` in its agent's front matter"
        )
        super().__init__(
            f"step {step_id!r} spent {_amount(what, limit, spent)}, over its {scope}'s "
            f"budget; raise {where} or make the step smaller",
            retryable=False,
            data={"scope": scope, "what": what, "limit": limit, "spent": spent},
        )


class RunBudgetExceeded(EngineError, RuntimeFailure):
    """The run's steps together spent more than the workflow's ``budget:`` allows."""

    code: ClassVar[str] = "budget_exceeded"

    def __init__(self, what: str, limit: float, spent: float):
        super().__init__(
            f"the run spent {_amount(what, limit, spent)}, over the workflow's budget; the "
            "open steps were cancelled; raise `budget:` in the workflow's front matter or "
            "make the steps smaller"
        )
        self.what = what
        self.limit = limit
        self.spent = spent


def over_budget(budget: Budget | None, usage: UsageTotals) -> tuple[str, float, float] | None:
    """``(what, limit, spent)`` of the first limit of ``budget`` that ``usage`` is over
    (tokens before cost), or None. The one rule for step, agent and run budgets."""
    if budget is None:
        return None
    if budget.max_tokens is not None and usage.total_tokens > budget.max_tokens:
        return "tokens", budget.max_tokens, usage.total_tokens
    if budget.max_cost_usd is not None and usage.cost_usd > budget.max_cost_usd:
        return "cost", budget.max_cost_usd, usage.cost_usd
    return None


class LeaseLost(EngineError, ControlSignal):
    """The attempt's lease was renewed or committed under a stale fencing version."""

    code: ClassVar[str] = "lease_lost"


class RunBusy(EngineError, ControlSignal):
    """Another live process owns the run; wait for it or stop it first."""

    code: ClassVar[str] = "run_busy"


def error_data(error: BaseException) -> dict[str, Any]:
    """The stored shape of ``error``: ``type`` (class name), ``code`` (stable name),
    ``message``, ``retryable``, plus the error's own data (``StepFailed.data``)."""
    if isinstance(error, RunBudgetExceeded):
        extra: dict[str, Any] = {"what": error.what, "limit": error.limit, "spent": error.spent}
    else:
        extra = dict(error.data) if isinstance(error, StepFailed) else {}
    return {
        "type": type(error).__name__,
        "code": error.code if isinstance(error, OrchestraError) else "internal_error",
        "message": str(error),
        "retryable": bool(getattr(error, "retryable", False)),
        **extra,
    }
