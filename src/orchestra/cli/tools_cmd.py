"""`orchestra tools ...`: list every tool and call one directly, as an agent would.

Heavy imports (the tools package pulls in httpcore, mcp, ddgs) happen inside the
command bodies so ``orchestra --help`` stays fast.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestra.cli.project_opts import JsonOption, ProjectOption, project_root

if TYPE_CHECKING:
    from orchestra.definitions.specs import McpServerSpec
    from orchestra.tools.protocol import ToolResult, ToolSettings

app = typer.Typer(
    help="List tools and call one directly (for debugging tools without a model).",
    no_args_is_help=True,
)


def _tool_settings(root: Path) -> ToolSettings:
    from orchestra.config.loader import load_settings
    from orchestra.tools.protocol import ToolSettings

    settings = load_settings(root)
    ts = ToolSettings.from_sections(settings.tools, settings.workspaces)
    ws_root = ts.workspace_root if ts.workspace_root.is_absolute() else root / ts.workspace_root
    return ts.model_copy(update={"workspace_root": ws_root})


def _mcp_specs(ts: ToolSettings, extra: tuple[McpServerSpec, ...] = ()) -> list[McpServerSpec]:
    specs = {s.name: s for s in ts.mcp_servers}
    specs.update({s.name: s for s in extra})
    return list(specs.values())


def _agent_servers(root: Path) -> tuple[McpServerSpec, ...]:
    """MCP servers that agent files configure: their tools are callable, so they are listed."""
    from orchestra.agents.toolbox import resolve_agent_server
    from orchestra.definitions import load_project

    return tuple(
        resolve_agent_server(server, agent.path.parent)
        for agent in load_project(root).agents.values()
        for server in agent.mcp_servers
    )


@app.command("list")
def list_tools(
    project: ProjectOption = None,
    as_json: JsonOption = False,
    mcp: Annotated[
        bool,
        typer.Option("--mcp/--no-mcp", help="Start configured MCP servers to list their tools."),
    ] = True,
) -> None:
    """Every tool: name, version, source, permission, description and JSON schema."""
    from orchestra.tools.builtin import register_builtins
    from orchestra.tools.mcp_client import McpPool
    from orchestra.tools.registry import ToolRegistry

    root = project_root(project)
    ts = _tool_settings(root)
    registry = ToolRegistry()
    register_builtins(registry)
    registry.load_plugins()

    async def collect() -> None:
        specs = _mcp_specs(ts, _agent_servers(root)) if mcp else []
        if specs:
            async with McpPool(specs, settings=ts) as pool:
                await pool.register_into(registry)

    asyncio.run(collect())
    tools = registry.tools()
    if as_json:
        rows = [
            {
                "name": t.name,
                "source": t.source,
                "permission": t.permission.value,
                "version": t.version,
                "description": t.description,
                "parameters": t.parameters,
            }
            for t in tools
        ]
        typer.echo(json.dumps({"tools": rows, "plugin_errors": registry.plugin_errors}, indent=2))
        return
    width = max(len(t.name) for t in tools)
    for t in tools:
        summary = t.description.splitlines()[0] if t.description else ""
        typer.echo(
            f"{t.name:<{width}}  {t.version:<8} {t.source:<12} {t.permission.value:<8} {summary}"
        )
        props = t.parameters.get("properties", {})
        required = set(t.parameters.get("required", []))
        for key, spec in props.items():
            mark = "*" if key in required else " "
            typer.echo(f"{'':<{width}}    {mark}{key}: {spec.get('type', spec.get('anyOf', '?'))}")
    for err in registry.plugin_errors:
        typer.echo(f"warning: {err}", err=True)


@app.command("call")
def call_tool(
    name: Annotated[str, typer.Argument(help="Tool name, e.g. files.list or shell.")],
    args: Annotated[str, typer.Option("--args", help="Arguments as a JSON object.")] = "{}",
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace", help="Workspace folder (default: a new one under workspaces.root)."
        ),
    ] = None,
    agent: Annotated[
        str | None, typer.Option("--agent", help="Use this agent's tool list and MCP servers.")
    ] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option("--allow", help="Allowed tool pattern (repeatable), e.g. 'files.*'."),
    ] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run one tool with the permissions and limits an agent would have; print its result or refusal.

    Exit code: 0 ok, 1 tool error, 2 refused.
    """
    from orchestra.tools.builtin import register_builtins
    from orchestra.tools.mcp_client import McpPool
    from orchestra.tools.protocol import ToolContext
    from orchestra.tools.registry import ToolRegistry
    from orchestra.tools.workspace import Workspace

    root = project_root(project)
    ts = _tool_settings(root)
    patterns: list[str] = list(allow or [])
    agent_servers: tuple[McpServerSpec, ...] = ()
    agent_name = "cli"
    if agent is not None:
        from orchestra.definitions import load_project

        spec = load_project(root).agent_named(agent)
        if spec is None:
            raise typer.BadParameter(f"no agent named {agent!r} in {root}", param_hint="--agent")
        patterns += list(spec.tools)
        agent_servers = spec.mcp_servers
        agent_name = spec.name
    if not patterns:
        patterns = ["*"]
    if workspace is not None:
        ws = (
            Workspace.create(workspace.parent.resolve(), workspace.name)
            if not workspace.exists()
            else Workspace(workspace)
        )
    else:
        stamp = datetime.now(UTC).strftime("cli-%Y%m%d-%H%M%S")
        ws = Workspace.create(ts.workspace_root, stamp)
    typer.echo(f"workspace: {ws.root}", err=True)

    async def run() -> ToolResult:
        registry = ToolRegistry()
        register_builtins(registry)
        registry.load_plugins()
        ctx = ToolContext(
            workspace=ws, settings=ts, agent=agent_name, idempotency_key=f"cli:{name}"
        )
        specs = _mcp_specs(ts, agent_servers)
        if specs:
            async with McpPool(specs, settings=ts) as pool:
                await pool.register_into(registry)
                return await registry.for_agent(patterns, agent=agent_name, access=ts.access).call(
                    name, args, ctx
                )
        return await registry.for_agent(patterns, agent=agent_name, access=ts.access).call(
            name, args, ctx
        )

    result = asyncio.run(run())
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        if result.status != "ok":
            typer.echo(f"[{result.status}]", err=True)
        typer.echo(result.content)
    raise typer.Exit({"ok": 0, "error": 1, "refused": 2}[result.status])


@app.command("stats")
def tool_stats_cmd(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Per tool: calls, errors, p50/p99 latency and the last error, over every stored run."""
    from orchestra.cli.team_db import as_json as to_json
    from orchestra.cli.team_db import when, with_team
    from orchestra.runtime.tool_stats import tool_stats

    async def work(database: Any, _project: Any, _settings: Any) -> list[Any]:
        return await tool_stats(database)

    stats = with_team(project, work)
    if as_json:
        typer.echo(to_json(stats))
        return
    if not stats:
        typer.echo("no tool calls recorded yet")
        return
    typer.echo(f"{'tool':<28} {'calls':>6} {'errors':>6} {'p50 ms':>9} {'p99 ms':>9}  last error")
    for stat in stats:
        p50 = "" if stat.p50_ms is None else f"{stat.p50_ms:.1f}"
        p99 = "" if stat.p99_ms is None else f"{stat.p99_ms:.1f}"
        last = (
            "" if stat.last_error is None else f"{when(stat.last_error_at)} {stat.last_error[:80]}"
        )
        typer.echo(f"{stat.tool:<28} {stat.calls:>6} {stat.errors:>6} {p50:>9} {p99:>9}  {last}")
