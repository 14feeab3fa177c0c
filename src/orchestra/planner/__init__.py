"""The planner: a command and its context → a validated JSON plan → a DAG on the one engine.

:mod:`~orchestra.planner.catalogue` describes the project's agents and the actions
(tools) each may take; :mod:`~orchestra.planner.schema` turns the catalogue into the
JSON schema the model must answer (grammar-constrained on the embedded local model);
:mod:`~orchestra.planner.validate` checks an answer (unknown agent or action, missing
parameter, unknown dependency, cycle); :mod:`~orchestra.planner.compile` makes it a
:class:`~orchestra.definitions.specs.WorkflowSpec` through the same builder as files;
:mod:`~orchestra.planner.plan` asks the model, sends problems back once to repair, and
raises :class:`~orchestra.planner.errors.PlanRejected` with the model's answer otherwise.
"""

from orchestra.planner.catalogue import AgentEntry, Catalogue, catalogue_of
from orchestra.planner.compile import compile_plan
from orchestra.planner.errors import PlanRejected
from orchestra.planner.plan import Plan, PlannedCommand, Planner, PlanStep

__all__ = [
    "AgentEntry",
    "Catalogue",
    "Plan",
    "PlanRejected",
    "PlanStep",
    "PlannedCommand",
    "Planner",
    "catalogue_of",
    "compile_plan",
]
