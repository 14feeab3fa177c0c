"""Tools agents call: the contract, the registry, workspaces and the sandbox.

What the agent loop and plugin authors use is re-exported here; built-ins live in
:mod:`orchestra.tools.builtin` (``register_builtins``) and MCP servers in
:mod:`orchestra.tools.mcp_client` (``McpPool``), imported explicitly because they
pull in heavier dependencies. See :mod:`orchestra.tools.protocol` and
:mod:`orchestra.tools.registry` for the contract, and docs/tools.md.
"""

from orchestra.tools.errors import ToolError
from orchestra.tools.protocol import (
    Permission,
    Tool,
    ToolContext,
    ToolOutput,
    ToolResult,
    ToolSettings,
    tool,
)
from orchestra.tools.registry import AgentTools, ToolRegistry
from orchestra.tools.workspace import Workspace

__all__ = [
    "AgentTools",
    "Permission",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolOutput",
    "ToolRegistry",
    "ToolResult",
    "ToolSettings",
    "Workspace",
    "tool",
]
