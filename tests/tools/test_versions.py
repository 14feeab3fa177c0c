"""Tool versions and pinned ranges: translation of ^/~, the per-agent view, MCP versions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from orchestra.definitions.specs import McpServerSpec
from orchestra.tools.access import AccessRule, ToolAccess
from orchestra.tools.builtin import register_builtins
from orchestra.tools.mcp_client import McpPool
from orchestra.tools.protocol import Permission, ToolContext, ToolSettings, tool
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.versions import (
    VersionPinError,
    parse_pin,
    parse_range,
    translate_range,
)
from orchestra.tools.workspace import Workspace

ECHO_SERVER = str(Path(__file__).parent / "mcp_echo_server.py")


class NoArgs(BaseModel):
    pass


def versioned(name: str, version: str):  # type: ignore[no-untyped-def]
    @tool(name, permission=Permission.READ, version=version, args_model=NoArgs)
    async def run(args: NoArgs, ctx: ToolContext) -> str:
        """Say which version answered."""
        return f"{name} {version}"

    return run


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("^1", ">=1,<2.0.0"),
        ("^1.2.3", ">=1.2.3,<2.0.0"),
        ("^0.2.3", ">=0.2.3,<0.3.0"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("~1.2.3", ">=1.2.3,<1.3.0"),
        ("~1", ">=1,<2"),
        ("1.2.0", "==1.2.0"),
        (">=1,<2", ">=1,<2"),
    ],
)
def test_shorthand_ranges_translate_to_specifier_sets(written: str, expected: str) -> None:
    assert translate_range(written) == expected
    assert str(parse_range(written)) == str(parse_range(expected))


def test_pins_admit_what_their_range_says_and_bad_ranges_are_refused() -> None:
    pin = parse_pin("checklist.add@^1")
    assert pin.pattern == "checklist.add"
    assert pin.admits("1.0.0") and pin.admits("1.9.2") and not pin.admits("2.0.0")
    assert not pin.admits("not-a-version")
    assert parse_pin("files.*").admits("7.0.0")
    with pytest.raises(VersionPinError, match="invalid version range"):
        parse_pin("files.read@banana")
    with pytest.raises(VersionPinError, match="empty version range"):
        parse_pin("files.read@")


def test_built_ins_are_1_0_0() -> None:
    registry = ToolRegistry()
    register_builtins(registry)
    assert {t.version for t in registry.tools()} == {"1.0.0"}


async def test_the_view_offers_and_runs_only_versions_the_pin_admits(tmp_path: Path) -> None:
    registry = ToolRegistry([versioned("old.tool", "1.4.0"), versioned("new.tool", "2.0.0")])
    ctx = ToolContext(workspace=Workspace.create(tmp_path, "w"))
    view = registry.for_agent(["old.tool@^1", "new.tool@>=1,<2"], agent="writer")
    assert view.names() == ["old.tool"]
    assert [s.name for s in view.schemas()] == ["old.tool"]
    ok = await view.call("old.tool", {}, ctx)
    assert ok.status == "ok" and ok.content == "old.tool 1.4.0"
    refused = await view.call("new.tool", {}, ctx)
    assert refused.status == "refused"
    assert "version 2.0.0" in refused.content and "new.tool@>=1,<2" in refused.content
    # A malformed range admits nothing at run time (validation reports it with file:line).
    broken = registry.for_agent(["old.tool@banana"], agent="writer")
    assert (await broken.call("old.tool", {}, ctx)).status == "refused"


async def test_mcp_tools_carry_their_server_s_version_and_pins_apply(tmp_path: Path) -> None:
    spec = McpServerSpec(name="echo", command=[sys.executable, ECHO_SERVER, "stdio"])
    ctx = ToolContext(workspace=Workspace.create(tmp_path, "w"))
    async with McpPool([spec], settings=ToolSettings()) as pool:
        registry = ToolRegistry()
        await pool.register_into(registry)
        assert registry.get("echo.echo") is not None
        assert {t.version for t in registry.tools()} == {"2.1.0"}
        accepted = registry.for_agent(["echo.echo@^2"])
        result = await accepted.call("echo.echo", {"text": "hi"}, ctx)
        assert result.status == "ok" and result.content.strip() == "hi"
        pinned_out = registry.for_agent(["echo.echo@^1"])
        refused = await pinned_out.call("echo.echo", {"text": "hi"}, ctx)
        assert refused.status == "refused" and "version 2.1.0" in refused.content


async def test_access_settings_narrow_what_the_view_offers(tmp_path: Path) -> None:
    registry = ToolRegistry([versioned("files.read", "1.0.0"), versioned("shell", "1.0.0")])
    access = ToolAccess(deny=("shell",), agents={"writer": AccessRule(allow=("files.*",), deny=())})
    view = registry.for_agent(["*"], agent="writer", access=access)
    assert view.names() == ["files.read"]
    assert [s.name for s in view.schemas()] == ["files.read"]
    ctx = ToolContext(workspace=Workspace.create(tmp_path, "w"))
    refused = await view.call("shell", {}, ctx)
    assert refused.status == "refused" and "denied by 'shell'" in refused.content
    # Another agent is not narrowed by writer's layer.
    other = registry.for_agent(["files.*"], agent="reader", access=access)
    assert (await other.call("files.read", {}, ctx)).status == "ok"
    assert access.refusal("shell", role="viewer") is not None
    assert access.refusal("files.read", role="viewer") is None
