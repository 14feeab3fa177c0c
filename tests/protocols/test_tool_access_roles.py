"""``[tools.access.roles.<role>]`` on a real ``orchestra serve``: the API catalogue says per
tool whether the caller's role may call it (with versions), and ``/mcp`` hides and refuses
tools the caller's role is denied (issue 18.5)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import httpx
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from tests.api.process import Server, free_port
from tests.api.served import admin_key
from tests.protocols.conftest import Served
from tests.protocols.project import exposed_project

ACCESS = """
[tools.access.roles.viewer]
deny = ["files.write", "shell*"]
[tools.access.roles.operator]
deny = ["pair"]
"""


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = exposed_project(tmp_path_factory.mktemp("guarded"))
    with (root / "orchestra.toml").open("a") as toml:
        toml.write(ACCESS)
    server = Server(root, free_port())
    try:
        server.wait_ready()
        admin = admin_key(server.output())
        created = httpx.post(
            f"{server.base}/api/v1/keys",
            json={"name": "reader", "role": "viewer"},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        yield Served(server, admin, created.json()["key"])
    finally:
        server.stop()


def _catalogue(served: Served, key: str) -> dict[str, dict[str, object]]:
    answer = httpx.get(
        f"{served.base}/api/v1/tools", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    return {row["name"]: row for row in answer.json()}


def test_the_catalogue_shows_versions_and_what_the_role_may_call(guarded: Served) -> None:
    seen = _catalogue(guarded, guarded.viewer)
    assert seen["files.read"]["version"] == "1.0.0"
    assert seen["files.read"]["permitted"] is True
    assert seen["files.write"]["permitted"] is False
    assert "[tools.access.roles.viewer]" in str(seen["files.write"]["refusal"])
    assert seen["shell"]["permitted"] is False
    admin = _catalogue(guarded, guarded.admin)
    assert admin["files.write"]["permitted"] is True and admin["files.write"]["refusal"] is None
    unauthenticated = httpx.get(f"{guarded.base}/api/v1/tools", timeout=30)
    assert unauthenticated.status_code == 401


@contextlib.asynccontextmanager
async def _mcp(served: Served, key: str) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx2.AsyncClient(headers=headers, timeout=120) as http:
        transport = streamable_http_client(f"{served.base}/mcp", http_client=http)
        async with Client(transport, read_timeout_seconds=120) as client:
            yield client


async def test_mcp_hides_and_refuses_a_tool_the_role_is_denied(guarded: Served) -> None:
    operator = _operator_key(guarded)
    async with _mcp(guarded, operator) as client:
        assert [t.name for t in (await client.list_tools()).tools] == []
        with pytest.raises(MCPError, match=r"denied by 'pair' in \[tools.access.roles.operator\]"):
            await client.call_tool("pair", {"Topic": "x"})
    async with _mcp(guarded, guarded.admin) as client:
        assert [t.name for t in (await client.list_tools()).tools] == ["pair"]


def _operator_key(served: Served) -> str:
    created = httpx.post(
        f"{served.base}/api/v1/keys",
        json={"name": "op2", "role": "operator"},
        headers={"Authorization": f"Bearer {served.admin}"},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    return str(created.json()["key"])
