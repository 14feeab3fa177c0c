"""The run and step state machines: the only transitions the engine and stores allow.

Stores enforce them in SQL (``UPDATE ... WHERE status IN sources``) so a race
between two processes cannot produce an illegal state either.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from orchestra.engine.errors import IllegalTransition


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in _RUN_TERMINAL


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in _STEP_TERMINAL


_RUN_TERMINAL = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED})
_STEP_TERMINAL = frozenset(
    {StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED}
)

RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.CANCELLED}),
    RunStatus.RUNNING: frozenset(
        {RunStatus.WAITING, RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}
    ),
    RunStatus.WAITING: frozenset({RunStatus.RUNNING, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.SUCCEEDED: frozenset(),
    RunStatus.FAILED: frozenset(),
    RunStatus.CANCELLED: frozenset(),
}

STEP_TRANSITIONS: dict[StepStatus, frozenset[StepStatus]] = {
    # pending -> running is a claim; running -> running is a re-claim of an
    # interrupted attempt (crashed owner or expired lease); running -> pending
    # is a failed attempt waiting for its retry.
    StepStatus.PENDING: frozenset(
        {StepStatus.RUNNING, StepStatus.SKIPPED, StepStatus.CANCELLED, StepStatus.FAILED}
    ),
    StepStatus.RUNNING: frozenset(
        {
            StepStatus.RUNNING,
            StepStatus.PENDING,
            StepStatus.SUCCEEDED,
            StepStatus.FAILED,
            StepStatus.CANCELLED,
        }
    ),
    StepStatus.SUCCEEDED: frozenset(),
    StepStatus.FAILED: frozenset(),
    StepStatus.SKIPPED: frozenset(),
    StepStatus.CANCELLED: frozenset(),
}


_S = TypeVar("_S", RunStatus, StepStatus)


def _sources(table: dict[_S, frozenset[_S]], target: _S) -> tuple[_S, ...]:
    return tuple(source for source, targets in table.items() if target in targets)


def run_sources(target: RunStatus) -> tuple[RunStatus, ...]:
    """The states a run may be in to move to ``target``."""
    return _sources(RUN_TRANSITIONS, target)


def step_sources(target: StepStatus) -> tuple[StepStatus, ...]:
    """The states a step may be in to move to ``target``."""
    return _sources(STEP_TRANSITIONS, target)


def check_run(run_id: str, source: RunStatus, target: RunStatus) -> None:
    """Raise :class:`IllegalTransition` unless ``source -> target`` is allowed for runs."""
    if target not in RUN_TRANSITIONS[source]:
        raise IllegalTransition("run", run_id, source, target)


def check_step(step_ref: str, source: StepStatus, target: StepStatus) -> None:
    """Raise :class:`IllegalTransition` unless ``source -> target`` is allowed for steps."""
    if target not in STEP_TRANSITIONS[source]:
        raise IllegalTransition("step", step_ref, source, target)
