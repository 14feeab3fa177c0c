"""The public API: ``orchestra.__all__`` is pinned, and ``import orchestra`` stays cheap.

Like httpx's tests/test_exported_members.py: a name added to or dropped from the
public surface must be a deliberate change to this list.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import orchestra

PUBLIC = [
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


def test_all_is_pinned_and_sorted() -> None:
    assert orchestra.__all__ == PUBLIC
    assert sorted(orchestra.__all__) == PUBLIC


def test_every_exported_name_resolves_to_an_orchestra_object() -> None:
    for name in orchestra.__all__:
        value = getattr(orchestra, name)
        if name != "__version__":
            assert value.__module__.startswith("orchestra."), name
        assert name in dir(orchestra)


def test_the_errors_are_the_families() -> None:
    from orchestra.errors import OrchestraError

    assert orchestra.OrchestraError is OrchestraError
    assert issubclass(orchestra.UnknownPlugin, orchestra.NotFoundMistake)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = orchestra.NoSuchThing  # type: ignore[attr-defined]


def _heavy_modules_after(code: str) -> list[str]:
    script = (
        f"import sys\n{code}\n"
        "print(','.join(m for m in ('sqlalchemy', 'litellm', 'fastapi', 'uvicorn') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return [m for m in done.stdout.strip().split(",") if m]


def test_import_orchestra_leaves_the_heavy_dependencies_out() -> None:
    assert _heavy_modules_after("import orchestra") == []


def test_the_plugin_author_surface_is_light_too() -> None:
    code = (
        "from orchestra import tool, ToolContext, ToolRegistry, StepRunner, StepContext, "
        "ModelGateway, ScriptRegistry, OrchestraError, Registry"
    )
    assert _heavy_modules_after(code) == []
