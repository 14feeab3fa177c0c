"""``/mcp`` on a real ``orchestra serve``, driven by the official MCP client over
streamable HTTP, with the API's keys and roles."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from tests.protocols.conftest import Served


@contextlib.asynccontextmanager
async def _client(served: Served, key: str) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
        transport = streamable_http_client(f"{served.base}/mcp", http_client=http)
        async with Client(transport, read_timeout_seconds=120) as client:
            yield client


async def test_tool_call_over_http_runs_the_workflow_and_reports_progress(served: Served) -> None:
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with _client(served, served.admin) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
        assert tools == ["pair"]
        result = await client.call_tool("pair", {"Topic": "beavers"}, progress_callback=on_progress)
        assert not result.is_error, result.content
        assert "beavers" in result.structured_content["outputs"]["Final"]
        assert progress[-1] == 2.0
        run_id = result.structured_content["run_id"]
    # the run is an ordinary run: the REST API shows it, succeeded
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.get(
            f"{served.base}/api/v1/runs/{run_id}",
            headers={"Authorization": f"Bearer {served.admin}"},
        )
    run = answer.json()
    assert run["status"] == "succeeded"
    assert run["workflow"] == "pair"


async def test_viewer_key_reads_but_may_not_start_runs(served: Served) -> None:
    async with _client(served, served.viewer) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["pair"]
        with pytest.raises(MCPError, match="operator role"):
            await client.call_tool("pair", {"Topic": "x"})


def test_mcp_without_a_key_is_refused_with_the_api_error_envelope(served: Served) -> None:
    response = httpx.post(f"{served.base}/mcp", json={}, timeout=30)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    wrong = httpx.post(
        f"{served.base}/mcp", json={}, headers={"Authorization": "Bearer orch_nope"}, timeout=30
    )
    assert wrong.status_code == 401
