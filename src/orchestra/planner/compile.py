"""A valid plan → a :class:`WorkflowSpec` through :func:`build_workflow` (the same
graph checks as a workflow file), so the plan runs on the one engine like any workflow.

Each plan step becomes a step of its agent whose instruction states the objective, the
action and its parameters; it writes ``${<id>_result}`` and reads its dependencies'
results, so what Lincoln collected reaches Shaun. A step may ``Remember`` its result as
context of the command's job type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from orchestra.context.enrich import JOB_INPUT
from orchestra.definitions.builder import StepDraft, WorkflowDraft, build_workflow
from orchestra.definitions.specs import AgentSpec, InputSpec, WorkflowSpec
from orchestra.planner.catalogue import RESPOND
from orchestra.planner.validate import Plan


def result_var(step_id: str) -> str:
    return f"{step_id}_result"


def instruction(plan: Plan, index: int) -> str:
    step = plan.steps[index]
    params = json.dumps(step.params, ensure_ascii=False)
    how = (
        "Answer in text."
        if step.action == RESPOND
        else f"Use the tool `{step.action}` with these parameters: {params}."
    )
    parts = [f"Objective: {plan.objective}", f"Your part (step {step.id}): {how}"]
    for dep in step.depends_on:
        parts.append(f"Result of step {dep}: ${{{result_var(dep)}}}")
    parts.append("Answer with the result of your part.")
    return "\n\n".join(parts)


def compile_plan(
    plan: Plan,
    agents: Mapping[str, AgentSpec],
    *,
    name: str = "command",
    remember: str | None = None,
) -> WorkflowSpec:
    """The workflow of ``plan``; raises DefinitionError if the builder finds a problem."""
    steps = [
        StepDraft(
            id=step.id,
            agent=step.agent,
            instruction=instruction(plan, i),
            # context_job names the job the remembered results belong to (see enrich.py).
            reads=[JOB_INPUT, *(result_var(dep) for dep in step.depends_on)],
            writes=[result_var(step.id)],
            depends_on=list(step.depends_on),
            options={"remember": remember} if remember else {},
        )
        for i, step in enumerate(plan.steps)
    ]
    draft = WorkflowDraft(
        name=name,
        steps=steps,
        description=plan.objective,
        inputs=[InputSpec(name=JOB_INPUT, default="", description="the command's job")],
    )
    return build_workflow(draft, agents, "planner")
