"""``orchestra mcp``: serve the project's workflows as MCP tools over stdio.

An MCP client (an IDE, a desktop assistant, another agent framework) starts this as
its server command, e.g. ``orchestra mcp --project ~/my-project``. Over HTTP the same
server answers at ``/mcp`` on ``orchestra serve``. See docs/protocols.md.
"""

from __future__ import annotations

import asyncio

import typer

from orchestra.cli.project_opts import ProjectOption, project_root


def mcp(project: ProjectOption = None) -> None:
    """Serve workflows marked 'expose: [mcp]' as MCP tools, and runs as resources, on
    stdin/stdout (the MCP stdio transport). Logs go to stderr."""
    from orchestra.cli.run_cmd import start_model_import
    from orchestra.config import ConfigError, load_settings
    from orchestra.protocols.stdio import serve_stdio

    start_model_import()
    try:
        settings = load_settings(project_root(project))
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    asyncio.run(serve_stdio(settings))
