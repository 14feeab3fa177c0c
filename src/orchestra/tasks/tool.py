"""``task.update``: how an agent working on a task reports the phase it has reached.

The tool knows nothing of the store: it is built around a :class:`PhaseReporter`
(the task service's), which stores the update and publishes it. A call from a run
that is not a task's is an error the model can read, not a failure of the step.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, Field

from orchestra.tasks.errors import TaskError
from orchestra.tasks.states import TaskStatus
from orchestra.tasks.workspace import tick
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, tool


class PhaseReporter(Protocol):
    async def report_phase(
        self, run_id: str, phase: TaskStatus, note: str, *, by: str
    ) -> str | None:
        """Store the phase of the task whose run this is; its id, or None if no task's."""
        ...


class NoTasks:
    """The reporter of a process that runs no task service (``orchestra run``): every
    run there is a plain workflow run, so the tool says so."""

    async def report_phase(
        self, run_id: str, phase: TaskStatus, note: str, *, by: str
    ) -> str | None:
        return None


class UpdateArgs(BaseModel):
    phase: Literal["design", "build", "test", "review"] = Field(
        description="The phase you are entering now. Phases only move forward."
    )
    note: str = Field(default="", max_length=2000, description="One line on what you did.")


def make_task_update_tool(reporter: PhaseReporter) -> Tool:
    @tool("task.update", permission=Permission.WRITE)
    async def task_update(args: UpdateArgs, ctx: ToolContext) -> ToolOutput:
        """Report the phase of the task you are working on (design, build, test, review)
        with a short note; it ticks the checklist in the workspace README."""
        phase = TaskStatus(args.phase)
        try:
            task_id = await reporter.report_phase(ctx.run_id, phase, args.note, by=ctx.agent)
        except TaskError as error:
            return ToolOutput(text=f"not recorded: {error}", is_error=True)
        if task_id is None:
            return ToolOutput(text="this run is not working on a task", is_error=True)
        tick(ctx.workspace, phase, args.note)
        await ctx.event("task_update", {"task_id": task_id, "phase": phase.value})
        return ToolOutput(
            text=f"task {task_id} is now in {phase.value}",
            data={"task_id": task_id, "phase": phase.value},
        )

    return task_update
