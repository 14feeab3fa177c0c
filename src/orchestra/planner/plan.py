"""Asking the model for a plan: the command, the relevant context and the catalogue in;
a validated :class:`Plan` out, after at most one repair.

The request carries the plan's JSON schema (:func:`plan_schema`) as its response
schema: hosted models use structured output, and the embedded llama.cpp model compiles
it to a grammar, so even a tiny model answers a plan of existing agents and actions.
The answer is still checked (:func:`check_plan`), since the schema cannot express
dependencies or cycles; problems go back to the model once, then to the user with the
model's answer (:class:`PlanRejected`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from orchestra.context.entries import ContextEntry
from orchestra.context.tools import render
from orchestra.llm.errors import MalformedOutput
from orchestra.llm.types import ChatMessage, ChatRequest, ModelGateway
from orchestra.planner.catalogue import Catalogue
from orchestra.planner.errors import PlanRejected
from orchestra.planner.schema import plan_schema
from orchestra.planner.validate import Plan, PlanStep, check_plan, parse_plan

__all__ = ["Plan", "PlanStep", "PlannedCommand", "Planner"]

SYSTEM = """You are the planner of a team of agents. Turn the user's command into a plan:
a JSON object {"objective": "...", "steps": [{"id", "agent", "action", "params",
"depends_on"}]}. Use only these agents and actions, give every required parameter, and
list in depends_on the ids of the steps whose results a step needs (no cycles).

Agents and their actions:
"""


@dataclass(frozen=True, slots=True)
class PlannedCommand:
    """A validated plan and how it came about (stored with its run)."""

    command: str
    plan: Plan
    answers: list[str] = field(default_factory=list)
    """The model's raw answers, in order (two when the first was repaired)."""
    context_ids: list[int] = field(default_factory=list)

    @property
    def repaired(self) -> bool:
        return len(self.answers) > 1


class Planner:
    def __init__(self, gateway: ModelGateway, model: str, catalogue: Catalogue) -> None:
        self.gateway = gateway
        self.model = model
        self.catalogue = catalogue
        self.schema = plan_schema(catalogue)

    def messages(self, command: str, context: Sequence[ContextEntry]) -> list[ChatMessage]:
        system = SYSTEM + self.catalogue.describe()
        if context:
            system += "\n\nContext from earlier jobs (use it; it says who wrote it):\n\n"
            system += "\n\n".join(render(entry) for entry in context)
        return [
            ChatMessage(role="system", content=system),
            ChatMessage(role="user", content=command),
        ]

    async def _ask(self, messages: list[ChatMessage]) -> str:
        answer = await self.gateway.chat(
            ChatRequest(
                model=self.model,
                messages=messages,
                response_schema=self.schema,
                temperature=0.0,
                metadata={"agent": "planner"},
            )
        )
        return answer.content or ""

    async def plan(self, command: str, context: Sequence[ContextEntry] = ()) -> PlannedCommand:
        """A valid plan for ``command``; raises :class:`PlanRejected` after one repair."""
        messages = self.messages(command, context)
        answers: list[str] = []
        problems: list[str] = []
        for _attempt in range(2):
            try:
                answer = await self._ask(messages)
            except MalformedOutput as exc:  # the gateway checked the schema (after its retries)
                answer = exc.raw
                answers.append(answer)
                problems = [f"the answer does not match the plan schema: {exc}"]
                plan = None
            else:
                answers.append(answer)
                plan, problems = parse_plan(answer)
            if plan is not None:
                problems = check_plan(plan, self.catalogue)
                if not problems:
                    return PlannedCommand(
                        command, plan, answers, context_ids=[e.id for e in context]
                    )
            messages = [
                *messages,
                ChatMessage(role="assistant", content=answer),
                ChatMessage(
                    role="user",
                    content="That plan is invalid:\n- "
                    + "\n- ".join(problems)
                    + "\nAnswer the corrected plan as JSON only.",
                ),
            ]
        raise PlanRejected(problems, answers[-1])
