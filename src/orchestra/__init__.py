"""Orchestra: a locally hosted platform for running teams of LLM agents.

This module is the public surface for plugin authors and embedders; everything
in ``__all__`` stays importable from here across releases (a test pins the list)::

    from orchestra import ToolContext, tool

    @tool("greet", description="Say hello")
    async def greet(name: str, ctx: ToolContext) -> str:
        return f"hello {name}"

Names are imported on first access (a module-level ``__getattr__``), so
``import orchestra`` costs nothing: the CLI starts without loading SQLAlchemy,
LiteLLM or FastAPI, and a plugin pays only for the names it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from orchestra.engine.executor import ExecutorFactory, LocalExecutor
    from orchestra.engine.protocols import Executor, StepContext, StepResult, StepRunner
    from orchestra.errors import (
        ConflictMistake,
        ControlSignal,
        NotFoundMistake,
        OrchestraError,
        RuntimeFailure,
        UserMistake,
    )
    from orchestra.llm.providers import ModelProvider
    from orchestra.llm.scripted import Reply, ScriptedToolCall, ScriptRegistry
    from orchestra.llm.types import ChatMessage, ChatRequest, ChatResponse, ModelGateway
    from orchestra.plugins import PluginFailed, Registry, UnknownPlugin
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

_EXPORTS: dict[str, str] = {
    # Errors: the root and its families (orchestra/errors.py).
    "ConflictMistake": "orchestra.errors",
    "ControlSignal": "orchestra.errors",
    "NotFoundMistake": "orchestra.errors",
    "OrchestraError": "orchestra.errors",
    "RuntimeFailure": "orchestra.errors",
    "UserMistake": "orchestra.errors",
    # Tools: the decorator, its types and the registry.
    "AgentTools": "orchestra.tools.registry",
    "Permission": "orchestra.tools.protocol",
    "Tool": "orchestra.tools.protocol",
    "ToolContext": "orchestra.tools.protocol",
    "ToolError": "orchestra.tools.errors",
    "ToolOutput": "orchestra.tools.protocol",
    "ToolRegistry": "orchestra.tools.registry",
    "ToolResult": "orchestra.tools.protocol",
    "ToolSettings": "orchestra.tools.protocol",
    "Workspace": "orchestra.tools.workspace",
    "tool": "orchestra.tools.protocol",
    # The engine's contracts for step runners and executors.
    "Executor": "orchestra.engine.protocols",
    "ExecutorFactory": "orchestra.engine.executor",
    "LocalExecutor": "orchestra.engine.executor",
    "StepContext": "orchestra.engine.protocols",
    "StepResult": "orchestra.engine.protocols",
    "StepRunner": "orchestra.engine.protocols",
    # Models: the gateway contract, providers and the scripted model for tests.
    "ChatMessage": "orchestra.llm.types",
    "ChatRequest": "orchestra.llm.types",
    "ChatResponse": "orchestra.llm.types",
    "ModelGateway": "orchestra.llm.types",
    "ModelProvider": "orchestra.llm.providers",
    "Reply": "orchestra.llm.scripted",
    "ScriptRegistry": "orchestra.llm.scripted",
    "ScriptedToolCall": "orchestra.llm.scripted",
    # Plugin registries.
    "PluginFailed": "orchestra.plugins",
    "Registry": "orchestra.plugins",
    "UnknownPlugin": "orchestra.plugins",
}

__all__ = [
    "AgentTools",
    "ChatMessage",
    "ChatRequest",
    "ChatResponse",
    "ConflictMistake",
    "ControlSignal",
    "Executor",
    "ExecutorFactory",
    "LocalExecutor",
    "ModelGateway",
    "ModelProvider",
    "NotFoundMistake",
    "OrchestraError",
    "Permission",
    "PluginFailed",
    "Registry",
    "Reply",
    "RuntimeFailure",
    "ScriptRegistry",
    "ScriptedToolCall",
    "StepContext",
    "StepResult",
    "StepRunner",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolOutput",
    "ToolRegistry",
    "ToolResult",
    "ToolSettings",
    "UnknownPlugin",
    "UserMistake",
    "Workspace",
    "__version__",
    "tool",
]


def __getattr__(name: str) -> object:
    """Import an exported name on first use and keep it, so the next access is plain."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'orchestra' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
