"""Executors and the registry that finds them by name.

The local executor runs steps in this process, as asyncio tasks of the scheduler.
It adds nothing to :class:`StepExecution` but the in-process transport; a
distributed executor sends the same ``(run_id, step_id)`` to a worker that runs
the same ``StepExecution`` code against the same store.

An executor is named in ``[engine] executor`` and found through
:func:`executor_registry`: the entry-point group ``orchestra.executors`` maps a
name to an :class:`ExecutorFactory`, which the engine calls with its own step
execution. ``local`` is Orchestra's, declared in ``pyproject.toml`` like any plugin's.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint
from typing import Protocol, TypeGuard

from orchestra.engine.execution import StepExecution
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.protocols import Executor, StepOutcome
from orchestra.plugins import Registry

ENTRY_POINT_GROUP = "orchestra.executors"


class ExecutorFactory(Protocol):
    """Builds a process's executor around the engine's in-process step execution.

    A distributed executor may leave ``execution`` to the workers' own engines.
    """

    def __call__(self, execution: StepExecution) -> Executor: ...


class LocalExecutor:
    """An :class:`Executor` that awaits the step in the calling task."""

    def __init__(self, execution: StepExecution) -> None:
        self.execution = execution

    async def execute(self, run_id: RunId, step_id: StepId) -> StepOutcome:
        return await self.execution.execute(run_id, step_id)


def _is_factory(obj: object) -> TypeGuard[ExecutorFactory]:
    return callable(obj)


def executor_registry(eps: Iterable[EntryPoint] | None = None) -> Registry[ExecutorFactory]:
    """Every executor installed (``eps`` defaults to the ``orchestra.executors`` entry points)."""
    return Registry(
        "executor", ENTRY_POINT_GROUP, _is_factory, "a callable (StepExecution) -> Executor"
    ).add_entry_points(eps)
