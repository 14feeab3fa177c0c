"""The task state machine (seed 004): ``queued → assigned → design → build → test →
review → complete``, plus ``failed`` and ``cancelled``.

The phases between ``assigned`` and ``complete`` are reported by the agent and optional:
a task may jump ahead (``assigned → test``) but never move back. Only two moves go back
to ``queued``: a **retry** of a failed or cancelled task (by a user), and a **requeue**
of an unfinished one whose agent went offline (by recovery). The store enforces this
table in SQL, so concurrent writers cannot break it either.
"""

from __future__ import annotations

from enum import StrEnum

from orchestra.tasks.errors import IllegalTaskTransition


class TaskStatus(StrEnum):
    QUEUED = "queued"
    ASSIGNED = "assigned"
    DESIGN = "design"
    BUILD = "build"
    TEST = "test"
    REVIEW = "review"
    COMPLETE = "complete"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def active(self) -> bool:
        """Held by an agent: assigned or in one of the working phases."""
        return self in ACTIVE


PHASES: tuple[TaskStatus, ...] = (
    TaskStatus.ASSIGNED,
    TaskStatus.DESIGN,
    TaskStatus.BUILD,
    TaskStatus.TEST,
    TaskStatus.REVIEW,
)
"""The states an agent holds a task in, in the order they may be passed through."""

ACTIVE = frozenset(PHASES)
_TERMINAL = frozenset({TaskStatus.COMPLETE, TaskStatus.FAILED, TaskStatus.CANCELLED})


def _transitions() -> dict[TaskStatus, frozenset[TaskStatus]]:
    table: dict[TaskStatus, frozenset[TaskStatus]] = {
        TaskStatus.QUEUED: frozenset(
            {TaskStatus.ASSIGNED, TaskStatus.CANCELLED, TaskStatus.FAILED}
        ),
        TaskStatus.COMPLETE: frozenset(),
        TaskStatus.FAILED: frozenset({TaskStatus.QUEUED}),
        TaskStatus.CANCELLED: frozenset({TaskStatus.QUEUED}),
    }
    ends = {TaskStatus.COMPLETE, TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.QUEUED}
    for index, phase in enumerate(PHASES):
        table[phase] = frozenset({*PHASES[index + 1 :], *ends})
    return table


TASK_TRANSITIONS: dict[TaskStatus, frozenset[TaskStatus]] = _transitions()


def task_sources(target: TaskStatus) -> tuple[TaskStatus, ...]:
    """The states a task may be in to move to ``target``."""
    return tuple(source for source, targets in TASK_TRANSITIONS.items() if target in targets)


def check_task(task_id: str, source: TaskStatus, target: TaskStatus) -> None:
    """Raise :class:`IllegalTaskTransition` unless ``source -> target`` is allowed."""
    if target not in TASK_TRANSITIONS[source]:
        raise IllegalTaskTransition(task_id, source, target)
