"""What the planner may route work to: each agent, what it is for, and its actions.

An action is one of the agent's tools (``browser.search``) with the parameters its
schema requires; an agent with no tools has the single action ``respond`` (answer in
text). The catalogue is shown to the model and generates the plan's JSON schema, so the
model can name only what exists.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestra.definitions.specs import AgentSpec

RESPOND = "respond"
ParamsOf = Callable[[str], Mapping[str, Any] | None]
"""Tool name → its JSON-schema parameters (None: unknown tool, e.g. a pattern)."""


@dataclass(frozen=True, slots=True)
class ActionEntry:
    name: str
    description: str = ""
    required: tuple[str, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AgentEntry:
    name: str
    description: str
    capabilities: tuple[str, ...]
    actions: tuple[ActionEntry, ...]

    def action(self, name: str) -> ActionEntry | None:
        return next((a for a in self.actions if a.name == name), None)


@dataclass(frozen=True, slots=True)
class Catalogue:
    agents: tuple[AgentEntry, ...]

    def agent(self, name: str) -> AgentEntry | None:
        return next((a for a in self.agents if a.name == name), None)

    def describe(self) -> str:
        """The catalogue as text for the model's prompt."""
        lines: list[str] = []
        for agent in self.agents:
            caps = f" (capabilities: {', '.join(agent.capabilities)})" if agent.capabilities else ""
            lines.append(f"- agent {agent.name}: {agent.description or 'no description'}{caps}")
            for action in agent.actions:
                params = ", ".join(action.required) or "none required"
                about = f" — {action.description}" if action.description else ""
                lines.append(f"    - action {action.name} (params: {params}){about}")
        return "\n".join(lines)


def expand(patterns: Sequence[str], known: Sequence[str]) -> list[str]:
    """The registered tool names ``patterns`` (names or globs like ``browser.*``) allow."""
    names: list[str] = []
    for pattern in patterns:
        names += [n for n in known if fnmatch.fnmatchcase(n, pattern) and n not in names]
    return names


def catalogue_of(
    agents: Mapping[str, AgentSpec],
    params_of: ParamsOf,
    describe_tool: Callable[[str], str],
    known_tools: Sequence[str],
) -> Catalogue:
    """The catalogue of ``agents``; tools are described by the registry's schemas."""
    entries: list[AgentEntry] = []
    for name in sorted(agents):
        spec = agents[name]
        actions: list[ActionEntry] = []
        for tool_name in expand(spec.tools, known_tools):
            schema = params_of(tool_name)
            if schema is None:
                continue
            actions.append(
                ActionEntry(
                    name=tool_name,
                    description=describe_tool(tool_name).split("\n")[0][:200],
                    required=tuple(schema.get("required", ())),
                    properties=dict(schema.get("properties", {})),
                )
            )
        if not actions:
            actions.append(ActionEntry(RESPOND, "answer in text"))
        entries.append(
            AgentEntry(
                name=name,
                description=spec.description,
                capabilities=tuple(spec.capabilities),
                actions=tuple(actions),
            )
        )
    return Catalogue(tuple(entries))
