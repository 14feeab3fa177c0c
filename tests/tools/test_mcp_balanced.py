"""An MCP server given several URLs: calls are spread over its endpoints by the balancer
(two real streamable-HTTP servers, official SDK; issue 18.6)."""

from __future__ import annotations

import collections
import subprocess
import sys
from collections.abc import Iterator

import pytest

from orchestra.definitions.specs import McpServerSpec
from orchestra.tools.errors import ToolDefinitionError
from orchestra.tools.mcp_client import McpPool
from orchestra.tools.protocol import ToolContext
from orchestra.tools.registry import ToolRegistry
from tests.api.process import free_port
from tests.tools.test_mcp_client import SERVER, wait_port


@pytest.fixture(scope="module")
def two_servers() -> Iterator[list[str]]:
    procs, urls = [], []
    try:
        for _ in range(2):
            port = free_port()
            procs.append(
                subprocess.Popen(
                    [sys.executable, SERVER, "http", str(port)],
                    stderr=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                )
            )
            wait_port(port)
            urls.append(f"http://127.0.0.1:{port}/mcp")
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


async def _pids(spec: McpServerSpec, ctx: ToolContext, calls: int) -> collections.Counter[str]:
    async with McpPool([spec]) as pool:
        registry = ToolRegistry()
        await pool.register_into(registry)
        assert "remote.pid" in registry and "remote.echo" in registry
        seen: collections.Counter[str] = collections.Counter()
        for _ in range(calls):
            result = await registry.call("remote.pid", {}, ctx)
            assert result.status == "ok", result.content
            seen[result.content.strip()] += 1
        return seen


async def test_round_robin_spreads_calls_over_both_endpoints(
    ctx: ToolContext, two_servers: list[str]
) -> None:
    spec = McpServerSpec(name="remote", url=two_servers)
    seen = await _pids(spec, ctx, 4)
    assert sorted(seen.values()) == [2, 2]


async def test_weighted_sends_calls_in_proportion(ctx: ToolContext, two_servers: list[str]) -> None:
    spec = McpServerSpec(name="remote", url=two_servers, balance="weighted", weights=[3, 1])
    seen = await _pids(spec, ctx, 8)
    assert sorted(seen.values()) == [2, 6]


def test_bad_balancing_settings_are_refused() -> None:
    with pytest.raises(ToolDefinitionError, match="remote"):
        McpPool([McpServerSpec(name="remote", url=["http://127.0.0.1:1/mcp"], balance="random")])
    with pytest.raises(ToolDefinitionError, match="empty list of URLs"):
        McpPool([McpServerSpec(name="remote", url=[])])
