"""Which queue a step goes to: ``[distributed.routes]`` by agent, then by model.

An agent route wins over a model route (an agent pinned to a box keeps its tools
there); a model route keeps every call to a model served on one GPU box on the
workers of that box. A step no route matches goes to the default queue.
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestra.definitions.specs import AgentSpec


def queue_for(agent: AgentSpec | None, routes: Mapping[str, str], default: str) -> str:
    """The queue of a step run by ``agent`` (None: the agent is missing from the snapshot;
    any worker reports that failure)."""
    if agent is None or not routes:
        return default
    by_agent = routes.get(f"agent:{agent.name}")
    if by_agent:
        return by_agent
    return routes.get(f"model:{agent.model}") or default


def check_routes(routes: Mapping[str, str]) -> list[str]:
    """Problems with the route keys (each must be ``model:<alias>`` or ``agent:<name>``)."""
    problems = []
    for key, queue in routes.items():
        kind, _, name = key.partition(":")
        if kind not in ("model", "agent") or not name:
            problems.append(
                f'[distributed.routes] key {key!r}: write "model:<alias>" or "agent:<name>"'
            )
        if not queue:
            problems.append(f"[distributed.routes] {key!r} has an empty queue name")
    return problems
