"""``delegate``: an agent hands a sub-task to another agent through the task queue.

The sub-task is an ordinary task (so it is assigned, run on the one engine, retried
and shown like any other), pinned to one agent by name or open to any agent with the
named capabilities, and it records the step that delegated it (run id, step id): the
run's events name the child task, and ``GET /api/v1/tasks`` lists it with its parent.

The tool knows nothing of the store: it is built around a :class:`Delegator` (the task
service). With ``wait`` (the default) it waits for the child to end, up to
``wait_seconds``, and returns the child's result; without, or when the wait runs out,
it returns the task id, which a later ``delegate.result`` call reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel, Field, model_validator

from orchestra.tasks.errors import NoTaskQueue, TaskError
from orchestra.tasks.specs import TaskDraft
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, tool

MAX_WAIT_S = 3600.0


@dataclass(frozen=True, slots=True)
class Delegation:
    """Where a delegated task stands: its status and, once it ended, its result."""

    task_id: str
    status: str
    agent: str | None = None
    ended: bool = False
    result: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None


class Delegator(Protocol):
    async def delegate(self, draft: TaskDraft, *, by: str, run_id: str, step_id: str) -> Delegation:
        """Queue ``draft`` as the child of step ``step_id`` of run ``run_id``."""
        ...

    async def delegation(self, task_id: str, *, run_id: str, wait_s: float) -> Delegation:
        """The state of a task run ``run_id`` delegated, after waiting up to ``wait_s``
        seconds for it to end (``TaskNotFound`` for anyone else's task)."""
        ...


class NoDelegation:
    """The delegator of a process without a task service: every call says so (the
    tools stay known everywhere, so ``orchestra validate`` accepts agents listing them)."""

    async def delegate(self, draft: TaskDraft, *, by: str, run_id: str, step_id: str) -> Delegation:
        raise NoTaskQueue()

    async def delegation(self, task_id: str, *, run_id: str, wait_s: float) -> Delegation:
        raise NoTaskQueue()


class DelegateArgs(BaseModel):
    title: str = Field(min_length=1, max_length=200, description="What the sub-task is, briefly.")
    description: str = Field(
        default="",
        max_length=20_000,
        description="Everything the other agent needs to do it: it sees only this.",
    )
    agent: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The agent to hand it to, by name. Give this or capabilities.",
    )
    capabilities: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Tags the taker must have (any suited agent takes it).",
    )
    complexity: int = Field(default=5, ge=1, le=10, description="1 (trivial) to 10 (hardest).")
    wait: bool = Field(
        default=True, description="Wait for the result (true) or return the task id at once."
    )
    wait_seconds: float = Field(
        default=600.0,
        gt=0,
        le=MAX_WAIT_S,
        description="Longest wait; after it the task id is returned and the task goes on.",
    )

    @model_validator(mode="after")
    def _someone(self) -> DelegateArgs:
        if self.agent is None and not self.capabilities:
            raise ValueError("name the agent or the capabilities the taker needs")
        return self


class ResultArgs(BaseModel):
    task_id: str = Field(min_length=1, max_length=64, description="The id `delegate` returned.")
    wait_seconds: float = Field(
        default=0.0, ge=0, le=MAX_WAIT_S, description="How long to wait for it to end."
    )


def _output(found: Delegation) -> ToolOutput:
    data: dict[str, object] = {
        "task_id": found.task_id,
        "status": found.status,
        "agent": found.agent,
        "ended": found.ended,
    }
    if not found.ended:
        return ToolOutput(
            text=f"task {found.task_id} is {found.status}; read its result later with "
            "delegate.result",
            data=data,
        )
    data |= {"result": found.result, "outputs": found.outputs, "error": found.error}
    if found.error is not None:
        return ToolOutput(
            text=f"task {found.task_id} {found.status}: {found.error}", data=data, is_error=True
        )
    return ToolOutput(text=found.result or f"task {found.task_id} {found.status}", data=data)


def make_delegate_tools(delegator: Delegator) -> list[Tool]:
    """``delegate`` and ``delegate.result`` around the process's task service."""

    @tool("delegate", permission=Permission.WRITE)
    async def delegate(args: DelegateArgs, ctx: ToolContext) -> ToolOutput:
        """Hand a sub-task to another agent (by name, or any agent with the capabilities)
        through the task queue; by default wait for it and return its result."""
        if args.agent == ctx.agent:
            return ToolOutput(text="you cannot delegate to yourself", is_error=True)
        try:
            draft = TaskDraft(
                title=args.title,
                description=args.description,
                agent=args.agent,
                capabilities=tuple(args.capabilities),
                complexity=args.complexity,
                idempotency_key=f"delegate:{ctx.idempotency_key}:{args.title}"[:200]
                if ctx.idempotency_key
                else None,
            )
        except ValueError as error:
            return ToolOutput(text=f"bad sub-task: {error}", is_error=True)
        try:
            child = await delegator.delegate(
                draft, by=f"agent:{ctx.agent}", run_id=ctx.run_id, step_id=ctx.step_id
            )
        except TaskError as error:
            return ToolOutput(text=f"not delegated: {error}", is_error=True)
        await ctx.event(
            "delegated",
            {
                "task_id": child.task_id,
                "agent": args.agent,
                "capabilities": list(args.capabilities),
                "title": args.title,
                "wait": args.wait,
            },
        )
        if not args.wait:
            return _output(child)
        found = await delegator.delegation(
            child.task_id, run_id=ctx.run_id, wait_s=args.wait_seconds
        )
        if found.ended:
            await ctx.event(
                "delegation_ended",
                {"task_id": found.task_id, "status": found.status, "agent": found.agent},
            )
        return _output(found)

    @tool("delegate.result", permission=Permission.READ)
    async def delegate_result(args: ResultArgs, ctx: ToolContext) -> ToolOutput:
        """The status and, once it ended, the result of a task you delegated."""
        try:
            found = await delegator.delegation(
                args.task_id, run_id=ctx.run_id, wait_s=args.wait_seconds
            )
        except TaskError as error:
            return ToolOutput(text=str(error), is_error=True)
        return _output(found)

    return [delegate, delegate_result]
