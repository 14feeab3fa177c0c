"""What a step's agent may call: its tool view, its workspace and its MCP sessions.

The step runner opens a :class:`StepToolbox` for every step whose agent lists
``tools:`` and runs the model's tool calls through it. Contract:

* the workspace is ``<workspaces root>/<run id>`` (``Workspace.create``), so
  every step of a run shares the same files;
* MCP servers come from the project (``tools.mcp_servers``) and the agent file
  (``mcp:``). A server is started only when one of the agent's tool patterns
  can name its tools (``<server>.<tool>``, ``<server>.*``, ``*``), so agents
  that never use MCP never pay for it. Sessions belong to the **run**
  (:class:`RunMcpSessions`): the first step that needs a server starts it, every
  later or concurrent step of the same run whose agent names the same server
  (same name, command/url and env) reuses that session. Each session is
  entered into the run's :class:`~orchestra.agents.resources.RunResources`
  (one exit stack per run), closed when the engine stops driving the run. A server that dies is restarted once per run (:class:`McpPool`).
  Without a :class:`RunMcpSessions` (``sessions=None``) the sessions live for
  the one toolbox;
* in an agent file's ``mcp:`` command, ``python`` means the interpreter running
  Orchestra (so the server sees the same installed ``mcp`` SDK) and arguments
  naming an existing file relative to the agent file's folder are made absolute
  (the server does not depend on the directory Orchestra was started in);
* :meth:`StepToolbox.run` never raises for anything a tool or the model does;
  it emits ``tool_call`` before and ``tool_result`` after each call.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestra.agents.resources import RunResources
from orchestra.definitions.specs import McpServerSpec
from orchestra.engine.errors import StepFailed
from orchestra.engine.events import EventType
from orchestra.engine.protocols import StepContext
from orchestra.llm.types import ChatMessage, ToolCall, ToolSchema
from orchestra.tools.errors import ToolError
from orchestra.tools.protocol import Tool, ToolContext, ToolServices, ToolSettings
from orchestra.tools.registry import AgentTools, ToolRegistry
from orchestra.tools.versions import pattern_of
from orchestra.tools.workspace import Workspace

if TYPE_CHECKING:
    pass  # imports the MCP SDK: ~1 s, on use only


def servers_for(patterns: tuple[str, ...], servers: list[McpServerSpec]) -> list[McpServerSpec]:
    """The servers whose tools one of ``patterns`` could match (deduplicated by name, agent wins)."""
    chosen: dict[str, McpServerSpec] = {}
    names = [pattern_of(p) for p in patterns]
    for spec in servers:
        probe = f"{spec.name}.x"
        if any(fnmatch.fnmatchcase(probe, p) or p.split(".")[0] == spec.name for p in names):
            chosen[spec.name] = spec
    return list(chosen.values())


def resolve_agent_server(spec: McpServerSpec, base_dir: Path) -> McpServerSpec:
    """``python`` → this interpreter; paths relative to ``base_dir`` (the agent file's
    folder, or the project for servers in settings) → absolute (see module docstring)."""
    if not spec.command:
        return spec
    program, *args = spec.command
    if program in ("python", "python3"):
        program = sys.executable
    resolved = []
    for arg in args:
        candidate = base_dir / arg
        if not arg.startswith("-") and not Path(arg).is_absolute() and candidate.is_file():
            arg = str(candidate.resolve())
        resolved.append(arg)
    return spec.model_copy(update={"command": [program, *resolved]})


class RunMcpSessions:
    """The MCP sessions of the runs in flight; see the module docstring.

    Each server of a run gets its own :class:`McpPool`, entered into the run's
    :class:`~orchestra.agents.resources.RunResources` (so it is closed with the run,
    with everything else the run opened), and its restart budget (once per run) and
    lifetime are its own. Opening is serialised per run, so concurrent steps never
    start the same server twice.
    """

    def __init__(
        self, settings: ToolSettings | None = None, resources: RunResources | None = None
    ) -> None:
        self.settings = settings or ToolSettings()
        self.resources = resources or RunResources()

    async def tools_for(self, run_id: str, servers: list[McpServerSpec]) -> list[Tool]:
        """The tools of ``servers`` for this run, starting the ones not running yet.

        Raises :class:`~orchestra.tools.errors.McpServerError` when a server cannot start;
        the next step that needs it tries again.
        """
        from orchestra.tools.mcp_client import McpPool  # the MCP SDK costs ~1 s to import

        tools: list[Tool] = []
        for spec in servers:
            pool = await self.resources.enter(
                run_id,
                f"mcp:{spec.model_dump_json()}",
                functools.partial(McpPool, [spec], settings=self.settings),
            )
            tools += pool.tools()
        return tools

    def servers(self, run_id: str) -> list[str]:
        """Names of the servers this run has sessions with (for diagnostics and tests)."""
        return sorted(
            McpServerSpec.model_validate_json(key.removeprefix("mcp:")).name
            for key in self.resources.keys(run_id)
            if key.startswith("mcp:")
        )

    async def close_run(self, run_id: str) -> None:
        """Close every resource of ``run_id``, its sessions among them (stdio servers exit)."""
        await self.resources.close_run(run_id)

    async def aclose(self) -> None:
        """Close the resources of every run (shutdown without per-run ends)."""
        await self.resources.aclose()


@dataclass
class StepToolbox:
    """The tools of one step; build with :func:`open_toolbox`."""

    view: AgentTools
    context: ToolContext
    step: StepContext

    def schemas(self) -> list[ToolSchema]:
        return self.view.schemas()

    async def run(self, call: ToolCall) -> ChatMessage:
        """Run one call the model asked for and return the ``tool`` message for it."""
        await self.step.events.emit(
            EventType.TOOL_CALL,
            {"tool": call.name, "arguments": call.arguments, "call_id": call.id},
        )
        started = time.perf_counter()
        result = await self.view.call(call.name, call.arguments, self.context)
        duration_ms = (time.perf_counter() - started) * 1000
        await self.step.events.emit(
            EventType.TOOL_RESULT,
            {
                "tool": call.name,
                "call_id": call.id,
                "status": result.status,
                "result": result.content,
                "error": None if result.ok else result.content,
                "duration_ms": round(duration_ms, 3),
            },
        )
        return result.to_message(call.id)


@contextlib.asynccontextmanager
async def open_toolbox(
    ctx: StepContext,
    registry: ToolRegistry,
    settings: ToolSettings,
    project_dir: Path | None = None,
    sessions: RunMcpSessions | None = None,
    services: ToolServices | None = None,
) -> AsyncIterator[StepToolbox]:
    """Workspace, MCP sessions and the agent's tool view for one step.

    MCP sessions come from ``sessions`` (kept for the run, whose resources the tools
    get as ``ToolContext.resources``); without it they are opened here and closed on
    exit. ``services`` gives the tools their plugin tables, secrets and HTTP transport.
    """
    services = services or ToolServices()
    try:
        workspace = Workspace.create(
            settings.workspace_root, str(ctx.run_id), title=f"Run {ctx.run_id}"
        )
    except ToolError as exc:
        raise StepFailed(
            f"step {ctx.step_id!r}: cannot create the run workspace: {exc.message}",
            retryable=False,
        ) from exc
    except OSError as exc:
        raise StepFailed(
            f"step {ctx.step_id!r}: cannot create the run workspace under "
            f"{settings.workspace_root}: {exc}; check [workspaces] root in the settings",
            retryable=False,
        ) from exc

    async def emit(kind: str, payload: Mapping[str, object]) -> None:
        known = kind in EventType._value2member_map_
        await ctx.events.emit(
            EventType(kind) if known else EventType.LOG, {"kind": kind, **dict(payload)}
        )

    tool_ctx = ToolContext(
        workspace=workspace,
        settings=settings,
        run_id=str(ctx.run_id),
        step_id=str(ctx.step_id),
        agent=ctx.agent.name,
        idempotency_key=ctx.idempotency_key,
        emit=emit,
        plugins=services.plugins,
        secrets=services.secrets,
        transport=services.transport,
        resources=sessions.resources.scope(str(ctx.run_id)) if sessions is not None else None,
    )
    project_servers = [
        resolve_agent_server(spec, project_dir) if project_dir else spec
        for spec in settings.mcp_servers
    ]
    agent_servers = [
        resolve_agent_server(spec, ctx.agent.path.parent) for spec in ctx.agent.mcp_servers
    ]
    servers = servers_for(ctx.agent.tools, [*project_servers, *agent_servers])
    async with contextlib.AsyncExitStack() as stack:
        tools = registry
        if servers:
            if sessions is None:
                sessions = RunMcpSessions(settings)
                stack.push_async_callback(sessions.close_run, str(ctx.run_id))
            try:
                server_tools = await sessions.tools_for(str(ctx.run_id), servers)
            except ToolError as exc:
                raise StepFailed(
                    f"step {ctx.step_id!r}: {exc.message}", retryable=exc.retryable
                ) from exc
            tools = registry.copy()
            for tool in server_tools:
                tools.register(tool, replace=True)
        view = tools.for_agent(ctx.agent.tools, agent=ctx.agent.name, access=settings.access)
        yield StepToolbox(view=view, context=tool_ctx, step=ctx)
