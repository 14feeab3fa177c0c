"""Checks of a project that need its settings and the tool registry.

The definitions package is the bottom layer: it cannot know which model aliases
``orchestra.toml`` configures or which tools are registered. Without these checks a
misspelt alias (``model: gpt-fast``) failed only when its step ran, minutes in, and a
misspelt tool (``files.raed``) left the agent silently without it. ``validate``,
``run`` and ``serve`` all load a project through :func:`load_project`, which plugs
:class:`ProjectChecks` into :class:`~orchestra.definitions.Project`: its located
errors keep the workflows that use the agent from running, and tools that only an
MCP server can reveal (at run time) get a warning naming the server.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from orchestra.config.errors import ConfigError, SettingsError, TomlSyntaxError
from orchestra.config.loader import load_settings
from orchestra.config.settings import Settings
from orchestra.definitions import Code, Diagnostic, Project
from orchestra.definitions.diagnostics import choices_hint, did_you_mean
from orchestra.definitions.specs import AgentSpec
from orchestra.llm.config import GatewayConfig
from orchestra.llm.errors import ModelConfigError
from orchestra.tools.builtin import register_builtins
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.versions import ToolPin, VersionPinError, parse_pin

DEFAULT_ALIAS = "default"
_TOML_LINE = re.compile(r"^orchestra\.toml:(\d+)$")


def default_registry() -> ToolRegistry:
    """The tools every process registers before MCP servers start: built-ins and plugins."""
    registry = ToolRegistry()
    register_builtins(registry)
    registry.load_plugins()
    return registry


class ProjectChecks:
    """Model aliases and tool names of every agent, against settings and the registry."""

    def __init__(self, settings: Settings, tools: ToolRegistry | None = None) -> None:
        self.settings = settings
        self.tools = tools if tools is not None else default_registry()
        self.settings_problems: list[Diagnostic] = []
        self.aliases: set[str] | None = self._aliases()

    def __call__(self, project: Project) -> list[Diagnostic]:
        found = list(self.settings_problems)
        for agent in project.agents.values():
            found += self._model(project, agent)
            found += self._tools(project, agent)
        return found

    def _aliases(self) -> set[str] | None:
        toml = self.settings.project_dir / "orchestra.toml"
        try:
            models = GatewayConfig.from_settings(self.settings).resolved()
        except (ModelConfigError, ValueError) as error:
            self.settings_problems.append(
                Diagnostic(
                    toml,
                    1,
                    1,
                    Code.SETTINGS,
                    f"the [models] settings are invalid: {error}",
                    "see docs/models.md",
                )
            )
            return None
        return {*models.aliases, DEFAULT_ALIAS}

    def _model(self, project: Project, agent: AgentSpec) -> list[Diagnostic]:
        # "provider/model" strings go straight to LiteLLM; a bare name must be an alias.
        if self.aliases is None or "/" in agent.model or agent.model in self.aliases:
            return []
        line, col = project.field_position(agent.path, "model")
        return [
            Diagnostic(
                agent.path,
                line,
                col,
                Code.UNKNOWN_MODEL,
                f"unknown model alias '{agent.model}'",
                choices_hint(agent.model, self.aliases, "Aliases in orchestra.toml [models]")
                + "; or write a LiteLLM model string such as 'openai/gpt-4o-mini'",
            )
        ]

    def _tools(self, project: Project, agent: AgentSpec) -> list[Diagnostic]:
        names = self.tools.names()
        servers = {s.name for s in agent.mcp_servers} | {
            s.name for s in self.settings.tools.mcp_servers
        }
        found: list[Diagnostic] = []
        for index, entry in enumerate(agent.tools):
            line, col = project.field_position(agent.path, "tools", index)
            try:
                pin = parse_pin(entry)
            except VersionPinError as error:
                found.append(
                    Diagnostic(
                        agent.path,
                        line,
                        col,
                        Code.INVALID_VALUE,
                        f"tool '{entry}': {error}",
                        "write 'name@^1', 'name@~1.2', 'name@1.0.0' or 'name@>=1,<2'",
                    )
                )
                continue
            pattern = pin.pattern
            matching = fnmatch.filter(names, pattern)
            if matching:
                found += self._versions(agent, pin, entry, matching, (line, col))
                continue
            server = pattern.split(".", 1)[0]
            if server in servers:
                found.append(
                    Diagnostic(
                        agent.path,
                        line,
                        col,
                        Code.UNKNOWN_TOOL,
                        f"tool '{pattern}' is not known until MCP server '{server}' starts",
                        "`orchestra tools list` starts the servers and lists their tools; "
                        "check the name there",
                        severity="warning",
                    )
                )
                continue
            guess = did_you_mean(pattern, names)
            found.append(
                Diagnostic(
                    agent.path,
                    line,
                    col,
                    Code.UNKNOWN_TOOL,
                    f"unknown tool '{pattern}': no registered tool matches it",
                    f"{guess} See `orchestra tools list` for every tool; MCP tools are named "
                    "'<server>.<tool>'".strip(),
                )
            )
        return found

    def _versions(
        self,
        agent: AgentSpec,
        pin: ToolPin,
        entry: str,
        matching: list[str],
        at: tuple[int, int],
    ) -> list[Diagnostic]:
        """An error when a pinned range admits none of the registered versions."""
        versions = {name: self._version(name) for name in matching}
        if pin.spec is None or any(pin.admits(v) for v in versions.values()):
            return []
        registered = ", ".join(f"{n} {v}" for n, v in sorted(versions.items()))
        return [
            Diagnostic(
                agent.path,
                at[0],
                at[1],
                Code.UNKNOWN_TOOL,
                f"no registered version of '{pin.pattern}' satisfies '{pin.text}' "
                f"(in '{entry}'); registered: {registered}",
                "widen the range (e.g. '@>=1') or install a matching version of the tool; "
                "`orchestra tools list` shows every tool's version",
            )
        ]

    def _version(self, name: str) -> str:
        tool = self.tools.get(name)
        return tool.version if tool is not None else ""


def settings_problems(root: Path) -> tuple[Settings | None, list[Diagnostic]]:
    """The project's settings, or located diagnostics saying why they cannot be loaded."""
    toml = root / "orchestra.toml"
    try:
        return load_settings(root), []
    except TomlSyntaxError as error:
        return None, [
            Diagnostic(
                error.path,
                error.line or 1,
                error.column or 1,
                Code.SETTINGS,
                f"invalid TOML: {error.reason}",
                "fix the syntax at that position (strings need quotes, tables look like "
                "[section]); see docs/configuration.md",
            )
        ]
    except SettingsError as error:
        found = []
        for issue in error.issues:
            match = _TOML_LINE.match(issue.source)
            found.append(
                Diagnostic(
                    toml,
                    int(match.group(1)) if match else 1,
                    1,
                    Code.SETTINGS,
                    f"invalid setting {issue}",
                    "see docs/configuration.md for the allowed values",
                )
            )
        return None, found
    except (ConfigError, UnicodeDecodeError) as error:
        return None, [Diagnostic(toml, 1, 1, Code.SETTINGS, str(error), "save it as UTF-8")]


def load_project(settings: Settings, tools: ToolRegistry | None = None) -> Project:
    """The project of ``settings``, confined to its folder (plus ``[definitions]
    allow_paths``) and checked against its models and tools."""
    return Project.load(
        settings.project_dir,
        settings.definitions.allow_paths,
        checks=[ProjectChecks(settings, tools)],
    )
