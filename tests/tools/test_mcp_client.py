"""Against a real MCP server (tests/tools/mcp_echo_server.py, official SDK) over stdio and HTTP."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestra.definitions.specs import McpServerSpec
from orchestra.tools.errors import McpServerError, ToolDefinitionError
from orchestra.tools.mcp_client import McpPool
from orchestra.tools.protocol import ToolContext
from orchestra.tools.registry import ToolRegistry

SERVER = str(Path(__file__).with_name("mcp_echo_server.py"))


def stdio_spec(name: str = "echo") -> McpServerSpec:
    return McpServerSpec(name=name, command=[sys.executable, SERVER, "stdio"])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def wait_port(port: int) -> None:
    """Until something listens on ``port`` (the server printed nothing we could wait on)."""
    for _ in range(600):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, SERVER, "http", str(port)],
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(10)


async def test_stdio_server_tools_appear_as_server_dot_tool(ctx: ToolContext) -> None:
    async with McpPool([stdio_spec()]) as pool:
        reg = ToolRegistry()
        names = await pool.register_into(reg)
        assert sorted(names) == ["echo.add", "echo.die", "echo.echo", "echo.fail", "echo.pid"]
        add = reg.get("echo.add")
        assert add is not None and add.source == "mcp:echo"
        assert add.schema().parameters["required"] == ["a", "b"]
        view = reg.for_agent(["echo.add", "echo.pid"], agent="calc")
        result = await view.call("echo.add", '{"a": 2, "b": 40}', ctx)
        assert (result.status, result.content) == ("ok", "42")
        refused = await view.call("echo.die", "{}", ctx)
        assert refused.status == "refused"
        failed = await view.call("echo.add", '{"a": "x"}', ctx)
        assert failed.status == "error"


async def test_session_is_reused_within_a_run_and_closed_at_its_end(ctx: ToolContext) -> None:
    async with McpPool([stdio_spec()]) as pool:
        reg = ToolRegistry()
        await pool.register_into(reg)
        first = await reg.call("echo.pid", "{}", ctx)
        second = await reg.call("echo.pid", "{}", ctx)
        assert first.content == second.content
        pid = int(first.content)
        assert alive(pid)
    for _ in range(100):
        if not alive(pid):
            break
        await asyncio.sleep(0.05)
    assert not alive(pid)


async def test_a_dead_server_is_reported_and_restarted_once(ctx: ToolContext) -> None:
    events: list[tuple[str, dict[str, object]]] = []

    async def emit(kind: str, payload: object) -> None:
        events.append((kind, dict(payload)))  # type: ignore[call-overload]

    async with McpPool([stdio_spec()], emit=emit) as pool:
        reg = ToolRegistry()
        await pool.register_into(reg)
        before = int((await reg.call("echo.pid", "{}", ctx)).content)
        died = await reg.call("echo.die", "{}", ctx)
        assert died.status == "error" and "was restarted" in died.content
        assert pool.restarts("echo") == 1
        assert events and "died" in str(events[0][1]["message"])
        after = await reg.call("echo.pid", "{}", ctx)
        assert after.ok and int(after.content) != before
        again = await reg.call("echo.die", "{}", ctx)
        assert again.status == "error" and "restarted once this run" in again.content
        assert pool.restarts("echo") == 1


async def test_tool_errors_from_the_server_are_error_results(ctx: ToolContext) -> None:
    async with McpPool([stdio_spec()]) as pool:
        reg = ToolRegistry()
        await pool.register_into(reg)
        result = await reg.call("echo.fail", '{"reason": "boom"}', ctx)
        assert result.status == "error"


async def test_streamable_http_server(ctx: ToolContext, http_server: str) -> None:
    async with McpPool([McpServerSpec(name="remote", url=http_server)]) as pool:
        reg = ToolRegistry()
        await pool.register_into(reg)
        result = await reg.call("remote.echo", '{"text": "over http"}', ctx)
        assert (result.status, result.content) == ("ok", "over http")


async def test_bad_specs_and_unstartable_servers_fail_clearly() -> None:
    with pytest.raises(ToolDefinitionError, match="exactly one"):
        McpPool([McpServerSpec(name="x")])
    with pytest.raises(ToolDefinitionError, match="twice"):
        McpPool([stdio_spec(), stdio_spec()])
    with pytest.raises(McpServerError, match="did not start"):
        async with McpPool([McpServerSpec(name="ghost", command=["/nonexistent/server"])]):
            pass
