"""The local executor: runs steps in this process, as asyncio tasks of the scheduler.

It adds nothing to :class:`StepExecution` but the in-process transport; a
distributed executor sends the same ``(run_id, step_id)`` to a worker that runs
the same ``StepExecution`` code against the same store.
"""

from __future__ import annotations

from orchestra.engine.execution import StepExecution
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.protocols import StepOutcome


class LocalExecutor:
    """An :class:`Executor` that awaits the step in the calling task."""

    def __init__(self, execution: StepExecution) -> None:
        self.execution = execution

    async def execute(self, run_id: RunId, step_id: StepId) -> StepOutcome:
        return await self.execution.execute(run_id, step_id)
