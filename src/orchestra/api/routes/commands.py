"""``POST /commands``: say what you want; the planner answers a plan and, when approved,
runs it on the engine like any workflow.

``approve: false`` (the default) only plans: the answer shows the plan and its DAG, and
nothing runs until the same command is sent with ``approve: true`` (the console does so
after the user approves, possibly with the plan edited: ``plan`` in the body is then
validated and compiled instead of asking the model again). Operators only.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from orchestra.api.deps import Operator, Services, audit
from orchestra.api.routes import ERRORS
from orchestra.planner import PlannedCommand, PlanRejected, compile_plan
from orchestra.planner.validate import Plan, check_plan
from orchestra.runtime.commands import REMEMBER_AS, CommandPlan

router = APIRouter(prefix="/commands", tags=["commands"], responses=ERRORS)


class CommandRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: str = Field(min_length=1, max_length=4000)
    context_job: str | None = Field(default=None, min_length=1, max_length=200)
    """Earlier context of this job goes to the planner; this command's results join it."""
    model: str = Field(default="default", max_length=200)
    approve: bool = False
    """Run the plan now (else only plan it)."""
    plan: Plan | None = None
    """An edited plan to run instead of asking the model (validated the same way)."""


class PlanStepView(BaseModel):
    id: str
    agent: str
    action: str
    params: dict[str, Any]
    depends_on: list[str]


class CommandAnswer(BaseModel):
    command: str
    objective: str
    steps: list[PlanStepView]
    job_id: str
    answers: list[str]
    """The model's raw answers (two when the first was repaired; none for an edited plan)."""
    repaired: bool
    run_id: str | None = None
    status: str
    """``planned`` (waiting for approval) or ``started``."""


def _answer(planned: CommandPlan, run_id: str | None) -> CommandAnswer:
    plan = planned.planned.plan
    return CommandAnswer(
        command=planned.planned.command,
        objective=plan.objective,
        steps=[PlanStepView(**step.model_dump()) for step in plan.steps],
        job_id=planned.job_id,
        answers=planned.planned.answers,
        repaired=planned.planned.repaired,
        run_id=run_id,
        status="started" if run_id else "planned",
    )


@router.post("", response_model=CommandAnswer)
async def post_command(body: CommandRequest, who: Operator, services: Services) -> CommandAnswer:
    """Plan ``command`` (and run it when ``approve``); an invalid plan is a 422
    ``validation_error`` whose details carry the problems and the model's answer."""
    commands = services.commands
    if body.plan is not None:
        problems = check_plan(body.plan, commands.catalogue())
        if problems:
            raise PlanRejected(problems, body.plan.model_dump_json())
        workflow = compile_plan(
            body.plan, services.project.agents, name="command", remember=REMEMBER_AS
        )
        job_id = body.context_job or (await commands.plan_job_id())
        planned = CommandPlan(PlannedCommand(body.command, body.plan, []), workflow, job_id)
    else:
        planned = await commands.plan(body.command, context_job=body.context_job, model=body.model)
    run_id = None
    if body.approve:
        run_id = str(await commands.start(planned))
        await audit(services, who, "command.run", run_id, {"command": body.command[:200]})
    return _answer(planned, run_id)
