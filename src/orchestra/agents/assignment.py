"""Who takes a task: matching (complexity range, capabilities) and the strategies that
order the agents with room, chosen by ``[tasks] strategy`` in ``orchestra.toml``.

Pure functions of plain values: the store calls them inside the assignment transaction
with the agents it read there, and the database's guarded updates settle any race.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from orchestra.agents.lifecycle import AgentState
from orchestra.errors import UserMistake

StrategyName = Literal["least_recent", "round_robin", "least_loaded", "weighted"]
STRATEGIES: tuple[StrategyName, ...] = ("least_recent", "round_robin", "least_loaded", "weighted")


class Candidate(Protocol):
    """What a strategy needs to know of an agent (``AgentRow`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def state(self) -> AgentState: ...
    @property
    def active_tasks(self) -> int: ...
    @property
    def max_tasks(self) -> int: ...
    @property
    def weight(self) -> float: ...
    @property
    def last_active_at(self) -> float | None: ...
    @property
    def capabilities(self) -> tuple[str, ...]: ...
    @property
    def complexity_min(self) -> int: ...
    @property
    def complexity_max(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Need:
    """What a task asks of its taker."""

    complexity: int
    capabilities: tuple[str, ...] = ()
    agent: str | None = None
    """Only this agent may take it (a task delegated by name)."""


def suited(agent: Candidate, need: Need) -> bool:
    if need.agent is not None:  # chosen by name: its complexity range is not asked
        return agent.name == need.agent and set(need.capabilities) <= set(agent.capabilities)
    return agent.complexity_min <= need.complexity <= agent.complexity_max and set(
        need.capabilities
    ) <= set(agent.capabilities)


def has_room(agent: Candidate) -> bool:
    return agent.state.takes_work and agent.active_tasks < agent.max_tasks


def why_waiting(agents: Sequence[Candidate], need: Need) -> str:
    """The reason no agent can take a task now, as a user would want to read it."""
    working = [a for a in agents if a.state != AgentState.RETIRED]
    if not working:
        return "no agents registered; add an agent file or `POST /api/v1/agents`"
    if need.agent is not None:
        working = [a for a in working if a.name == need.agent]
        if not working:
            return f"agent {need.agent!r} is not registered"
    for capability in need.capabilities:
        if not any(capability in a.capabilities for a in working):
            return f"no agent has capability {capability!r}"
    capable = [a for a in working if set(need.capabilities) <= set(a.capabilities)]
    matching = [a for a in capable if suited(a, need)]
    if not matching:
        ranges = ", ".join(sorted({f"{a.complexity_min}–{a.complexity_max}" for a in capable}))
        return f"no agent takes complexity {need.complexity} (ranges: {ranges})"
    by_state: dict[str, int] = {}
    for agent in matching:
        label = "busy" if agent.state.takes_work else str(agent.state)
        by_state[label] = by_state.get(label, 0) + 1
    parts = " or ".join(f"{count} {label}" for label, count in sorted(by_state.items()))
    noun = "agent" if len(matching) == 1 else "agents"
    return f"all {len(matching)} matching {noun} unavailable: {parts}"


C = TypeVar("C", bound=Candidate)


class Strategy:
    """Orders the suited agents with room; the first one whose guarded update succeeds
    takes the task. Stateful strategies (round robin) keep their cursor here, per
    dispatcher."""

    def __init__(self, name: StrategyName, rng: random.Random | None = None) -> None:
        if name not in STRATEGIES:
            raise UserMistake(
                f"unknown task strategy {name!r}; [tasks] strategy is one of "
                + ", ".join(STRATEGIES)
            )
        self.name = name
        self._rng = rng or random.Random()
        self._last: str | None = None

    def order(self, agents: Iterable[C], need: Need) -> list[C]:
        free = [a for a in agents if has_room(a) and suited(a, need)]
        if self.name == "least_recent":
            return sorted(free, key=lambda a: (a.last_active_at or 0.0, a.name))
        if self.name == "least_loaded":
            return sorted(
                free,
                key=lambda a: (a.active_tasks / a.max_tasks, a.last_active_at or 0.0, a.name),
            )
        if self.name == "round_robin":
            ordered = sorted(free, key=lambda a: a.name)
            if self._last is None:
                return ordered
            last = self._last
            return [a for a in ordered if a.name > last] + [a for a in ordered if a.name <= last]
        # weighted: sampling without replacement (Efraimidis–Spirakis): each agent's key
        # is u ** (1 / weight); the largest keys come first.
        keyed = [(self._rng.random() ** (1.0 / a.weight) if a.weight > 0 else 0.0, a) for a in free]
        return [a for _, a in sorted(keyed, key=lambda pair: pair[0], reverse=True)]

    def chose(self, agent: str) -> None:
        """Tell the strategy who took the last task (round robin moves past it)."""
        self._last = agent
