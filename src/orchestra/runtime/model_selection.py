"""Which model a task's run uses: ``[models.selection]`` rules by agent and by task
complexity (a cheap model for easy tasks, a strong one for hard ones).

Applied when a task becomes a run (``runtime/tasks.py``): the run's snapshot holds the
chosen model, so a resumed or retried attempt uses what its run was created with, and
the run page shows it. Plain workflow runs keep their agents' own models.
"""

from __future__ import annotations

from orchestra.config.settings import ModelSelection
from orchestra.definitions.specs import AgentSpec, WorkflowSpec

DEFAULT_MODEL = "default"


def choose_model(agent: str, model: str, complexity: int, rules: ModelSelection) -> str:
    """The model for ``agent`` (whose file says ``model``) on a task of ``complexity``:
    its ``agents`` rule; else, if it left the choice to the project (``default``), the
    first complexity rule holding it; else its own."""
    if agent in rules.agents:
        return rules.agents[agent]
    if model == DEFAULT_MODEL:
        for rule in rules.complexity:
            if rule.min <= complexity <= rule.max:
                return rule.model
    return model


def with_selected_models(
    spec: WorkflowSpec, complexity: int, rules: ModelSelection
) -> WorkflowSpec:
    """``spec`` with each of its agents' models chosen by the rules (unchanged if none apply)."""
    if not rules.agents and not rules.complexity:
        return spec
    agents: dict[str, AgentSpec] = {}
    for name, agent in spec.agents.items():
        chosen = choose_model(agent.name, agent.model, complexity, rules)
        agents[name] = (
            agent if chosen == agent.model else agent.model_copy(update={"model": chosen})
        )
    return spec.model_copy(update={"agents": agents})
