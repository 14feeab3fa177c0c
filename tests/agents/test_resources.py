"""RunResources: what a run opens is shared by its steps and closed with the run, in one
exit stack per run. The MCP case uses the real echo MCP server of tests/tools."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestra.agents.resources import RunResources
from orchestra.agents.toolbox import RunMcpSessions
from orchestra.definitions.specs import McpServerSpec
from orchestra.tools.protocol import ToolContext
from orchestra.tools.workspace import Workspace
from tests.agents.test_run_mcp_sessions import ECHO_SERVER, gone


def recording(log: list[str], name: str, *, fail: bool = False):  # type: ignore[no-untyped-def]
    @contextlib.asynccontextmanager
    async def opened() -> AsyncIterator[str]:
        log.append(f"open {name}")
        if fail:
            raise RuntimeError(f"{name} cannot open")
        try:
            yield name
        finally:
            log.append(f"close {name}")

    return opened


async def test_resources_are_shared_per_run_and_closed_last_first() -> None:
    log: list[str] = []
    resources = RunResources()
    first = await asyncio.gather(
        *(resources.enter("r1", "browser", recording(log, "browser")) for _ in range(3))
    )
    assert first == ["browser"] * 3 and log == ["open browser"]  # opened once, concurrently
    assert await resources.enter("r1", "db", recording(log, "db")) == "db"
    assert await resources.enter("r2", "browser", recording(log, "other")) == "other"
    with pytest.raises(RuntimeError, match="cannot open"):
        await resources.enter("r1", "flaky", recording(log, "flaky", fail=True))
    assert resources.keys("r1") == ["browser", "db"]  # a failed opening is not kept
    await resources.close_run("r1")
    assert log[-2:] == ["close db", "close browser"]
    assert resources.keys("r1") == []
    await resources.close_run("r1")  # twice, or for an unknown run: nothing happens
    await resources.aclose()
    assert log[-1] == "close other"


async def test_a_tool_keeps_something_open_for_its_run(tmp_path: Path) -> None:
    log: list[str] = []
    resources = RunResources()
    ctx = ToolContext(
        workspace=Workspace.create(tmp_path, "r1", title="t"), resources=resources.scope("r1")
    )
    assert ctx.resources is not None
    assert await ctx.resources.enter("browser", recording(log, "browser")) == "browser"
    assert await ctx.resources.enter("browser", recording(log, "again")) == "browser"
    await resources.close_run("r1")
    assert log == ["open browser", "close browser"]


async def test_an_mcp_session_of_a_run_is_closed_with_the_run(tmp_path: Path) -> None:
    spec = McpServerSpec(name="echo", command=[sys.executable, str(ECHO_SERVER), "stdio"])
    resources = RunResources()
    sessions = RunMcpSessions(resources=resources)
    tools = await sessions.tools_for("r1", [spec])
    again = await sessions.tools_for("r1", [spec])
    assert {t.name for t in tools} == {t.name for t in again} and "echo.pid" in {
        t.name for t in tools
    }
    assert sessions.servers("r1") == ["echo"]
    pid_tool = next(t for t in tools if t.name == "echo.pid")
    ctx = ToolContext(workspace=Workspace.create(tmp_path, "r1", title="t"))
    answer = await pid_tool.invoke({}, ctx)
    pid = int((answer if isinstance(answer, str) else answer.text).strip())
    assert not gone(pid)
    await resources.close_run("r1")  # what the engine's close_run does when the run ends
    for _ in range(200):
        if gone(pid):
            break
        await asyncio.sleep(0.05)
    assert gone(pid), f"the MCP server {pid} of the finished run is still running"
    assert sessions.servers("r1") == []
