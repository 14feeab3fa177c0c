"""Errors of the planner.

Tree::

    PlannerError
    └── PlanRejected   user mistake: the model's plan stayed invalid after one repair
"""

from __future__ import annotations

from orchestra.errors import OrchestraError, UserMistake


class PlannerError(OrchestraError):
    """Base of every planner error."""


class PlanRejected(PlannerError, UserMistake):
    code = "plan_invalid"

    def __init__(self, problems: list[str], answer: str) -> None:
        listed = "; ".join(problems)
        shown = answer if len(answer) <= 2000 else answer[:2000] + "..."
        super().__init__(
            f"the model's plan is invalid after one repair: {listed}\nits answer was: {shown}\n"
            "rephrase the command, or check the agents' tools (`orchestra show agents`)"
        )
        self.problems = problems
        self.answer = answer
