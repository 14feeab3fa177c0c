"""The agent lifecycle: the states a registered agent is in and the only moves allowed.

An agent is ``idle`` with no task, ``busy`` while it holds at least one (up to its
``max_tasks``); an operator ``pause``s and ``resume``s it; repeated failures put it in
``error`` until resumed; a lapsed heartbeat makes it ``offline``; ``retired`` is final.
The store enforces the same table in SQL (``UPDATE … WHERE state IN sources``), so two
processes racing cannot produce a move this table forbids either.
"""

from __future__ import annotations

from enum import StrEnum

from orchestra.errors import ConflictMistake


class AgentState(StrEnum):
    IDLE = "idle"
    BUSY = "busy"
    PAUSED = "paused"
    ERROR = "error"
    OFFLINE = "offline"
    RETIRED = "retired"

    @property
    def takes_work(self) -> bool:
        """Whether the dispatcher may give this agent a task (if it has room)."""
        return self in _TAKES_WORK


_TAKES_WORK = frozenset({AgentState.IDLE, AgentState.BUSY})

AGENT_TRANSITIONS: dict[AgentState, frozenset[AgentState]] = {
    AgentState.IDLE: frozenset(
        {
            AgentState.BUSY,
            AgentState.PAUSED,
            AgentState.ERROR,
            AgentState.OFFLINE,
            AgentState.RETIRED,
        }
    ),
    AgentState.BUSY: frozenset(
        {AgentState.IDLE, AgentState.PAUSED, AgentState.ERROR, AgentState.OFFLINE}
    ),
    AgentState.PAUSED: frozenset({AgentState.IDLE, AgentState.OFFLINE, AgentState.RETIRED}),
    AgentState.ERROR: frozenset({AgentState.IDLE, AgentState.OFFLINE, AgentState.RETIRED}),
    AgentState.OFFLINE: frozenset({AgentState.IDLE, AgentState.RETIRED}),
    AgentState.RETIRED: frozenset(),
}
"""A busy agent is retired only after it is paused and its tasks are done (or requeued):
retiring must never orphan a task silently."""


class IllegalAgentTransition(ConflictMistake):
    """An agent was asked to move to a state its lifecycle does not allow from where it is."""

    code = "illegal_agent_transition"

    def __init__(self, agent: str, source: AgentState, target: AgentState) -> None:
        allowed = ", ".join(sorted(AGENT_TRANSITIONS[source])) or "nothing (final)"
        super().__init__(
            f"agent {agent!r} is {source}: cannot become {target}; from {source} it may "
            f"become {allowed} (see docs/tasks.md)"
        )
        self.agent = agent
        self.source = source
        self.target = target


def agent_sources(target: AgentState) -> tuple[AgentState, ...]:
    """The states an agent may be in to move to ``target``."""
    return tuple(source for source, targets in AGENT_TRANSITIONS.items() if target in targets)


def check_agent(agent: str, source: AgentState, target: AgentState) -> None:
    """Raise :class:`IllegalAgentTransition` unless ``source -> target`` is allowed."""
    if target not in AGENT_TRANSITIONS[source]:
        raise IllegalAgentTransition(agent, source, target)
