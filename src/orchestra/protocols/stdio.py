"""``orchestra mcp``: the MCP server (:mod:`orchestra.protocols.mcp_server`) over stdio.

The process opens the project's container itself (database, engine, gateway), so the
runs a tool call starts are driven here and stored like any other: ``orchestra runs``
and the web UI show them. Logs go to stderr; stdout carries only the protocol.
"""

from __future__ import annotations

import sys

from mcp.server.stdio import stdio_server

from orchestra.config.settings import Settings
from orchestra.log import setup_logging
from orchestra.protocols.mcp_server import build_mcp_server
from orchestra.runtime.container import Container, ContainerOptions


async def serve_stdio(settings: Settings) -> None:
    """Serve MCP on stdin/stdout until the client closes them, then close the container
    (runs still in flight are detached for the next start to resume)."""
    setup_logging(settings, console_stream=sys.stderr)
    container = await Container.open(settings, ContainerOptions(resume=False))
    try:
        server = build_mcp_server(lambda: container)
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
    finally:
        await container.close()
