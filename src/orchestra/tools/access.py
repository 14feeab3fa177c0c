"""Who may call which tool: ``[tools.access]`` in the project settings.

An agent file's ``tools:`` list says what the agent *asks* for; the settings say what
the operator *permits*, so a shared agent file cannot grant itself ``shell.*`` on a
project that forbids it. Three layers, each an ``allow`` and a ``deny`` list of
name patterns (globs, as in agent files)::

    [tools.access]
    deny = ["shell.*"]                 # nobody
    [tools.access.agents.writer]
    allow = ["files.*"]                # the writer agent: files tools only
    [tools.access.roles.operator]
    deny = ["python.*"]                # API callers with the operator role

A tool is permitted when no layer that applies denies it and every layer that applies
and has a non-empty ``allow`` matches it: ``deny`` always wins, ``allow`` only narrows.
The global layer applies to every caller, an agent layer to that agent's steps, a
role layer to API callers of that role (``GET /api/v1/tools`` shows it per tool).
"""

from __future__ import annotations

import fnmatch

from pydantic import BaseModel, ConfigDict, Field


class AccessRule(BaseModel):
    """One layer: patterns that are allowed (empty: everything) and denied."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def verdict(self, name: str) -> str | None:
        """None when this layer permits ``name``; otherwise why not (for the refusal)."""
        for pattern in self.deny:
            if fnmatch.fnmatchcase(name, pattern):
                return f"denied by {pattern!r}"
        if self.allow and not any(fnmatch.fnmatchcase(name, p) for p in self.allow):
            return f"not in allow {list(self.allow)}"
        return None


class ToolAccess(AccessRule):
    """``[tools.access]``: the global layer plus per-agent and per-role layers."""

    agents: dict[str, AccessRule] = Field(default_factory=dict)
    roles: dict[str, AccessRule] = Field(default_factory=dict)

    def refusal(
        self, name: str, *, agent: str | None = None, role: str | None = None
    ) -> str | None:
        """None when ``name`` may be called; otherwise a sentence naming the setting that
        stops it, for the model or the API caller to read."""
        layers: list[tuple[str, AccessRule]] = [("[tools.access]", self)]
        if agent is not None and agent in self.agents:
            layers.append((f"[tools.access.agents.{agent}]", self.agents[agent]))
        if role is not None and role in self.roles:
            layers.append((f"[tools.access.roles.{role}]", self.roles[role]))
        for where, rule in layers:
            why = rule.verdict(name)
            if why is not None:
                who = f"agent {agent!r}" if agent is not None else f"role {role!r}"
                return (
                    f"tool {name!r} is not permitted for {who}: {why} in {where} of "
                    "orchestra.toml. Ask the operator to change that setting, or do without it."
                )
        return None


def access_from(section: object) -> ToolAccess:
    """The policy of a ``[tools.access]`` settings section (a model or a mapping)."""
    if isinstance(section, BaseModel):
        section = section.model_dump()
    return ToolAccess.model_validate(section or {})
