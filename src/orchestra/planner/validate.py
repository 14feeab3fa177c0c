"""Checking a model's answer against the catalogue; every problem in words the model
(on repair) and the user (on rejection) can act on."""

from __future__ import annotations

import graphlib
import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestra.planner.catalogue import Catalogue
from orchestra.planner.schema import MAX_STEPS, STEP_ID_PATTERN

_ID = re.compile(STEP_ID_PATTERN)


class PlanStep(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str
    agent: str
    action: str
    params: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    objective: str
    steps: list[PlanStep]


def parse_plan(answer: str) -> tuple[Plan | None, list[str]]:
    """The plan in ``answer`` (JSON, possibly in a ```json fence) or the problems."""
    text = answer.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fenced:
        text = fenced.group(1).strip()
    try:
        data = json.loads(text)
    except ValueError as exc:
        return None, [f"the answer is not JSON ({exc})"]
    try:
        return Plan.model_validate(data), []
    except ValidationError as exc:
        return None, [
            f"{'.'.join(str(p) for p in e['loc']) or 'plan'}: {e['msg']}" for e in exc.errors()
        ]


def check_plan(plan: Plan, catalogue: Catalogue) -> list[str]:
    """Problems of ``plan`` against ``catalogue`` (empty: the plan is valid)."""
    problems: list[str] = []
    if not plan.steps:
        problems.append("the plan has no steps")
    if len(plan.steps) > MAX_STEPS:
        problems.append(f"the plan has {len(plan.steps)} steps; at most {MAX_STEPS}")
    ids = [step.id for step in plan.steps]
    agents = ", ".join(a.name for a in catalogue.agents)
    seen: set[str] = set()
    for step in plan.steps:
        if step.id in seen:
            problems.append(f"step id {step.id!r} is used more than once")
        seen.add(step.id)
        if not _ID.match(step.id):
            problems.append(f"step id {step.id!r} must be a letter then letters, digits or '_'")
        agent = catalogue.agent(step.agent)
        if agent is None:
            problems.append(f"step {step.id!r}: unknown agent {step.agent!r}; agents: {agents}")
            continue
        action = agent.action(step.action)
        if action is None:
            known = ", ".join(a.name for a in agent.actions)
            problems.append(
                f"step {step.id!r}: agent {agent.name!r} has no action {step.action!r}; "
                f"its actions: {known}"
            )
            continue
        for name in action.required:
            if name not in step.params:
                problems.append(
                    f"step {step.id!r}: action {action.name!r} needs parameter {name!r}"
                )
        for dep in step.depends_on:
            if dep not in ids:
                problems.append(f"step {step.id!r} depends on unknown step {dep!r}")
    problems = list(dict.fromkeys(problems))
    graph = {s.id: {d for d in s.depends_on if d in ids} for s in plan.steps}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = " -> ".join(str(node) for node in exc.args[1])
        problems.append(f"the steps depend on each other in a cycle: {cycle}")
    return problems
