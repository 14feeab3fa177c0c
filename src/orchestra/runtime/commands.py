"""``orchestra command`` and ``POST /api/v1/commands``: plan a command, then run it.

The service builds the catalogue from the project's agents and the process's tool
registry, reads the context of the command's job, asks the :class:`Planner` (the
gateway's ``default`` model unless told otherwise), compiles the plan through the
workflow builder and starts it on the engine like any workflow: one engine, whatever
way in. The plan's steps remember their results under the job type ``command`` in the
command's job, so the next command with ``--context-job`` sees what this one found.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from orchestra.context.entries import ContextEntry, ContextFilter
from orchestra.context.protocols import ContextSource
from orchestra.definitions import Project
from orchestra.definitions.specs import WorkflowSpec
from orchestra.engine.ids import RunId
from orchestra.llm.types import ModelGateway
from orchestra.planner import PlannedCommand, Planner, catalogue_of, compile_plan
from orchestra.planner.catalogue import Catalogue
from orchestra.tools.registry import ToolRegistry

REMEMBER_AS = "command"
CONTEXT_LIMIT = 10


@dataclass(frozen=True, slots=True)
class CommandPlan:
    """A planned command ready to run: the plan, its workflow and the job it belongs to."""

    planned: PlannedCommand
    workflow: WorkflowSpec
    job_id: str


class CommandService:
    def __init__(
        self,
        project: Callable[[], Project],
        gateway: ModelGateway,
        tools: ToolRegistry,
        context: ContextSource,
        start_run: Callable[[WorkflowSpec, Mapping[str, str]], Awaitable[RunId]],
    ) -> None:
        self._project = project
        self.gateway = gateway
        self.tools = tools
        self.context = context
        self._start_run = start_run

    def catalogue(self) -> Catalogue:
        def params_of(name: str) -> dict[str, object] | None:
            found = self.tools.get(name)
            return found.parameters if found is not None else None

        def describe(name: str) -> str:
            found = self.tools.get(name)
            return found.description if found is not None else ""

        return catalogue_of(self._project().agents, params_of, describe, self.tools.names())

    async def relevant_context(self, context_job: str | None) -> list[ContextEntry]:
        if not context_job:
            return []
        return await self.context.list(ContextFilter(job_id=context_job), limit=CONTEXT_LIMIT)

    async def plan(
        self, command: str, *, context_job: str | None = None, model: str = "default"
    ) -> CommandPlan:
        """A validated, compiled plan; raises PlanRejected or DefinitionError."""
        planner = Planner(self.gateway, model, self.catalogue())
        planned = await planner.plan(command, await self.relevant_context(context_job))
        job_id = context_job or await self.plan_job_id()
        workflow = compile_plan(
            planned.plan, self._project().agents, name="command", remember=REMEMBER_AS
        )
        return CommandPlan(planned, workflow, job_id)

    async def plan_job_id(self) -> str:
        """A fresh job id for a command given no ``context_job``."""
        return f"cmd-{uuid.uuid4().hex[:12]}"

    async def start(self, planned: CommandPlan) -> RunId:
        """Start the plan's run (stored like any run: the spec is the plan's workflow)."""
        return await self._start_run(planned.workflow, {"context_job": planned.job_id})
