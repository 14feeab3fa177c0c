"""One registry for every tool source, and the per-agent views the agent loop calls through.

Usage by the agent loop::

    registry = ToolRegistry()
    register_builtins(registry)          # orchestra.tools.builtin
    registry.load_plugins()              # entry-point group "orchestra.tools"
    async with McpPool(servers, settings) as pool:   # per run
        run_tools = registry.copy()
        await pool.register_into(run_tools)
        tools = run_tools.for_agent(agent.tools, agent=agent.name)
        request.tools = tools.schemas()
        result = await tools.call(call.name, call.arguments, ctx)   # never raises
        messages.append(result.to_message(call.id))

:meth:`AgentTools.call` and :meth:`ToolRegistry.call` **never raise** for
anything a tool or a model does: unknown or forbidden tools come back as
``status="refused"`` results that name the allowed tools, bad JSON or schema
violations and tool failures as ``status="error"``. Output longer than
``settings.output_limit_chars`` is cut with a note saying how much was dropped.
Only cancellation propagates.

A plugin distribution exposes tools under the entry-point group
``orchestra.tools``; each entry point loads either a :class:`Tool`, an iterable
of them, or a callable ``register(registry)``.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from orchestra.llm.types import ToolSchema
from orchestra.tools.access import ToolAccess
from orchestra.tools.errors import (
    ToolArgumentsError,
    ToolDefinitionError,
    ToolError,
    ToolNotAllowedError,
    ToolNotFoundError,
)
from orchestra.tools.protocol import Tool, ToolContext, ToolOutput, ToolResult
from orchestra.tools.versions import ToolPin, VersionPinError, parse_pin

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "orchestra.tools"
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")


class ToolRegistry:
    """Every tool known to a run, by name. Not a global: build one per app or run."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self.plugin_errors: list[str] = []
        """Plugins that failed to load, as messages (shown by ``orchestra tools list``)."""
        for t in tools:
            self.register(t)

    def register(self, tool: Tool, *, replace: bool = False) -> None:
        if not _NAME_RE.match(tool.name) or len(tool.name) > 64:
            raise ToolDefinitionError(
                f"tool name {tool.name!r} is invalid: use dotted words of letters, digits, '_' or '-' "
                "(at most 64 characters), e.g. 'files.read'"
            )
        existing = self._tools.get(tool.name)
        if existing is not None and not replace:
            raise ToolDefinitionError(
                f"tool {tool.name!r} from {tool.source} clashes with the one from {existing.source}; "
                "rename one of them"
            )
        self._tools[tool.name] = tool

    def unregister_source(self, source: str) -> None:
        """Drop every tool from one source (an MCP server that went away)."""
        self._tools = {n: t for n, t in self._tools.items() if t.source != source}

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self.tools())

    def names(self) -> list[str]:
        return sorted(self._tools)

    def tools(self) -> list[Tool]:
        return [self._tools[n] for n in self.names()]

    def copy(self) -> ToolRegistry:
        """A registry with the same tools, to extend per run (MCP) without touching this one."""
        clone = ToolRegistry()
        clone._tools = dict(self._tools)
        clone.plugin_errors = list(self.plugin_errors)
        return clone

    def load_plugins(self, eps: Iterable[EntryPoint] | None = None) -> list[str]:
        """Register tools from the ``orchestra.tools`` entry points; return the names added.

        A plugin that fails to import or register is recorded in ``plugin_errors``
        and skipped: one broken plugin must not disable every agent.
        """
        added: list[str] = []
        for ep in eps if eps is not None else entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist is not None else ep.name
            source = f"plugin:{dist}"
            try:
                loaded = ep.load()
                before = set(self._tools)
                if isinstance(loaded, Tool):
                    self.register(loaded.with_source(source))
                elif callable(loaded):
                    view = _SourceStamper(self, source)
                    loaded(view)
                elif isinstance(loaded, Iterable):
                    for t in loaded:
                        self.register(_require_tool(t, ep).with_source(source))
                else:
                    raise ToolDefinitionError(
                        f"entry point {ep.name!r} gave {type(loaded).__name__}; "
                        "expected a Tool, a list of Tools or register(registry)"
                    )
                added += sorted(set(self._tools) - before)
            except Exception as exc:  # boundary: arbitrary plugin code
                msg = f"plugin {dist} ({ep.value}) failed to load: {exc}"
                log.warning(msg)
                self.plugin_errors.append(msg)
        return added

    def for_agent(
        self, patterns: Sequence[str], *, agent: str = "agent", access: ToolAccess | None = None
    ) -> AgentTools:
        """A view exposing only tools matching ``patterns`` (exact names or globs like
        ``files.*``, optionally pinned ``files.read@^1``) that ``access`` permits."""
        return AgentTools(self, tuple(patterns), agent, access)

    async def call(
        self, name: str, arguments: str | Mapping[str, Any] | None, ctx: ToolContext
    ) -> ToolResult:
        """Run any registered tool (no agent allowlist). Never raises; see module docstring."""
        tool = self._tools.get(name)
        if tool is None:
            close = ", ".join(fnmatch.filter(self.names(), f"{name.split('.')[0]}*")[:8])
            hint = (
                f" Did you mean: {close}?" if close else f" Known tools: {', '.join(self.names())}."
            )
            return _refusal(name, ToolNotFoundError(f"there is no tool named {name!r}.{hint}"))
        try:
            args = _decode_arguments(name, arguments)
            output = await tool.invoke(args, ctx)
        except ToolError as exc:
            return _error_result(tool, exc, ctx)
        except Exception as exc:  # boundary: any tool bug becomes a result the model can read
            log.exception("tool %s crashed", name)
            return ToolResult(
                name=name,
                status="error",
                content=_truncate(
                    f"tool {name} failed unexpectedly: {type(exc).__name__}: {exc}", ctx
                )[0],
                error_type=type(exc).__name__,
                source=tool.source,
            )
        if isinstance(output, str):
            output = ToolOutput(text=output)
        text, cut = _truncate(output.text, ctx)
        return ToolResult(
            name=name,
            status="error" if output.is_error else "ok",
            content=text,
            data=output.data,
            truncated=cut,
            source=tool.source,
        )


class _SourceStamper:
    """What a plugin's ``register(registry)`` receives: registrations get the plugin's source."""

    def __init__(self, registry: ToolRegistry, source: str) -> None:
        self._registry = registry
        self._source = source

    def register(self, tool: Tool, *, replace: bool = False) -> None:
        self._registry.register(tool.with_source(self._source), replace=replace)


def _require_tool(obj: object, ep: EntryPoint) -> Tool:
    if not isinstance(obj, Tool):
        raise ToolDefinitionError(f"entry point {ep.name!r} listed {obj!r}, which is not a Tool")
    return obj


class AgentTools:
    """The tools one agent may call. Everything else is refused and the model is told why.

    A tool is offered and callable when one of the agent's entries names it and, if that
    entry pins a version range (``files.read@^1``), the tool's version satisfies it, and
    the project's ``[tools.access]`` settings permit it for this agent.
    """

    def __init__(
        self,
        registry: ToolRegistry,
        patterns: tuple[str, ...],
        agent: str,
        access: ToolAccess | None = None,
    ) -> None:
        self._registry = registry
        self.patterns = patterns
        self.agent = agent
        self.access = access
        self.pins = tuple(_lenient_pin(p) for p in patterns)

    def allows(self, name: str) -> bool:
        """Whether ``name`` is on the agent's list (ignoring versions and access settings)."""
        return any(fnmatch.fnmatchcase(name, pin.pattern) for pin in self.pins)

    def refusal(self, tool: Tool) -> str | None:
        """None when the agent may call ``tool``; otherwise why not, for the model."""
        pins = [pin for pin in self.pins if fnmatch.fnmatchcase(tool.name, pin.pattern)]
        if not pins:
            allowed = ", ".join(self.names()) or "none"
            return (
                f"tool {tool.name!r} is not allowed for agent {self.agent!r}; allowed: "
                f"{allowed}. Use one of the allowed tools or answer without it."
            )
        if not any(pin.admits(tool.version) for pin in pins):
            ranges = ", ".join(f"{p.pattern}@{p.text}" for p in pins if p.spec is not None)
            return (
                f"tool {tool.name!r} is version {tool.version}, which agent {self.agent!r} "
                f"does not accept ({ranges} in its tools list); update the pin in the agent "
                "file or install a matching version of the tool"
            )
        if self.access is not None:
            return self.access.refusal(tool.name, agent=self.agent)
        return None

    def names(self) -> list[str]:
        return [t.name for t in self._permitted()]

    def schemas(self) -> list[ToolSchema]:
        """What to offer the model in ``ChatRequest.tools``."""
        return [t.schema() for t in self._permitted()]

    def _permitted(self) -> list[Tool]:
        return [t for t in self._registry.tools() if self.allows(t.name) and self._fine(t)]

    def _fine(self, tool: Tool) -> bool:
        pins = [pin for pin in self.pins if fnmatch.fnmatchcase(tool.name, pin.pattern)]
        if not any(pin.admits(tool.version) for pin in pins):
            return False
        return self.access is None or self.access.refusal(tool.name, agent=self.agent) is None

    def unmatched_patterns(self) -> list[str]:
        """Patterns that match no registered tool (a typo in the agent file, or a missing server)."""
        names = self._registry.names()
        return [
            p
            for p, pin in zip(self.patterns, self.pins, strict=True)
            if not fnmatch.filter(names, pin.pattern)
        ]

    async def call(
        self, name: str, arguments: str | Mapping[str, Any] | None, ctx: ToolContext
    ) -> ToolResult:
        """Run ``name`` if this agent may; otherwise a ``refused`` result. Never raises."""
        if not self.allows(name):
            allowed = ", ".join(self.names()) or "none"
            return _refusal(
                name,
                ToolNotAllowedError(
                    f"tool {name!r} is not allowed for agent {self.agent!r}; allowed: {allowed}. "
                    "Use one of the allowed tools or answer without it."
                ),
            )
        tool = self._registry.get(name)
        if tool is not None:
            why = self.refusal(tool)
            if why is not None:
                return _refusal(name, ToolNotAllowedError(why))
        return await self._registry.call(name, arguments, ctx)


def _lenient_pin(entry: str) -> ToolPin:
    """A pin whose range is malformed admits nothing (the project checks report it)."""
    try:
        return parse_pin(entry)
    except VersionPinError as exc:
        return ToolPin(entry.partition("@")[0], text=entry.partition("@")[2], invalid=str(exc))


def _decode_arguments(name: str, arguments: str | Mapping[str, Any] | None) -> Mapping[str, Any]:
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, Mapping):
        return arguments
    try:
        decoded = json.loads(arguments)
    except json.JSONDecodeError as exc:
        raise ToolArgumentsError(
            f"arguments for {name} are not valid JSON ({exc.msg} at position {exc.pos}); "
            'send a JSON object such as {"path": "notes.md"}'
        ) from exc
    if not isinstance(decoded, dict):
        raise ToolArgumentsError(
            f"arguments for {name} must be a JSON object, got {type(decoded).__name__}"
        )
    return decoded


def _truncate(text: str, ctx: ToolContext) -> tuple[str, bool]:
    limit = ctx.settings.output_limit_chars
    if len(text) <= limit:
        return text, False
    dropped = len(text) - limit
    note = f"\n\n[output truncated: {dropped} of {len(text)} characters dropped (limit {limit})]"
    return text[:limit] + note, True


def _refusal(name: str, exc: ToolError) -> ToolResult:
    return ToolResult(
        name=name, status="refused", content=exc.message, error_type=type(exc).__name__
    )


def _error_result(tool: Tool, exc: ToolError, ctx: ToolContext) -> ToolResult:
    return ToolResult(
        name=tool.name,
        status="error",
        content=_truncate(f"error: {exc.message}", ctx)[0],
        error_type=type(exc).__name__,
        retryable=exc.retryable,
        source=tool.source,
    )


RegisterFunction = Callable[[ToolRegistry], None]
