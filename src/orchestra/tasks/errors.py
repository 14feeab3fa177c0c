"""Errors of tasks.

Tree::

    TaskError
    ├── TaskNotFound            user mistake: no task with that id
    ├── IllegalTaskTransition   conflict: a move the task state machine forbids
    ├── TaskInputError          user mistake: a task draft fails its schema (names the field)
    └── NoTaskQueue             user mistake: ``delegate`` in a process without a task service
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestra.errors import ConflictMistake, NotFoundMistake, OrchestraError, UserMistake

if TYPE_CHECKING:
    from orchestra.tasks.states import TaskStatus


class TaskError(OrchestraError):
    """Base of every task error."""


class TaskNotFound(TaskError, NotFoundMistake):
    code = "task_not_found"

    def __init__(self, task_id: str) -> None:
        super().__init__(f"no task with id {task_id!r}; list tasks with `orchestra tasks list`")
        self.task_id = task_id


class IllegalTaskTransition(TaskError, ConflictMistake):
    code = "illegal_task_transition"

    def __init__(self, task_id: str, source: TaskStatus, target: TaskStatus) -> None:
        hint = (
            "phases never move backwards; `orchestra tasks retry` requeues a failed task"
            if not source.terminal
            else f"the task is {source}; `orchestra tasks retry {task_id}` queues it again"
            if source != "complete"
            else "a complete task is final; create a new task"
        )
        super().__init__(f"task {task_id}: cannot go from {source!r} to {target!r}; {hint}")
        self.task_id = task_id
        self.source = source
        self.target = target


class TaskInputError(TaskError, UserMistake):
    code = "invalid_task"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"task field {field!r}: {message}")
        self.field = field


class NoTaskQueue(TaskError, UserMistake):
    """Delegation needs the task queue: a process with a task service (``orchestra serve``)."""

    code = "no_task_queue"

    def __init__(self) -> None:
        super().__init__(
            "this process has no task queue; run the workflow under `orchestra serve` "
            "(or queue it as a task) to delegate"
        )
