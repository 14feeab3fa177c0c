"""A real MCP server (official SDK) that the MCP client tests start as a subprocess.

Usage: python mcp_echo_server.py stdio | python mcp_echo_server.py http PORT
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("echo", version="2.1.0")  # tool versions come from here
STATE = {"calls": 0}


@server.tool()
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def pid() -> int:
    """This server process's id (tells a restarted server apart)."""
    return os.getpid()


@server.tool()
def die() -> str:
    """Exit the server process abruptly, as a crash would."""
    os._exit(3)


@server.tool()
def fail(reason: str) -> str:
    """Raise an error inside the tool."""
    raise ValueError(reason)


if __name__ == "__main__":
    if sys.argv[1] == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
