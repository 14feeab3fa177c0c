"""Our A2A server on a real ``orchestra serve``, driven by the a2a-sdk's own client."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
from a2a.client import A2ACardResolver, Client, ClientConfig, ClientFactory
from a2a.helpers.proto_helpers import (
    get_artifact_text,
    new_data_part,
    new_message,
    new_text_message,
)
from a2a.types.a2a_pb2 import Role, SendMessageRequest, TaskState

from tests.protocols.conftest import Served


@contextlib.asynccontextmanager
async def _client(served: Served, path: str, key: str, *, streaming: bool) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(headers=headers, timeout=120) as http:
        factory = ClientFactory(ClientConfig(streaming=streaming, httpx_client=http))
        client = await factory.create_from_url(f"{served.base}{path}")
        async with client:
            yield client


async def test_agent_card_names_the_agent_its_interface_and_bearer_auth(served: Served) -> None:
    headers = {"Authorization": f"Bearer {served.viewer}"}
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:
        card = await A2ACardResolver(http, f"{served.base}/a2a/agents/echo").get_agent_card()
    assert card.name == "echo"
    assert card.capabilities.streaming
    assert card.supported_interfaces[0].url == f"{served.base}/a2a/agents/echo/"
    scheme = card.security_schemes["orchestra_api_key"]
    assert scheme.http_auth_security_scheme.scheme == "bearer"


async def test_message_send_to_an_agent_is_a_run_whose_output_is_the_artifact(
    served: Served,
) -> None:
    async with _client(served, "/a2a/agents/echo", served.admin, streaming=False) as client:
        message = new_text_message("hello otters", role=Role.ROLE_USER)
        responses = [r async for r in client.send_message(SendMessageRequest(message=message))]
    task = responses[-1].task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    reply = next(a for a in task.artifacts if a.name == "Reply")
    assert "hello otters" in get_artifact_text(reply)
    run_id = reply.metadata["orchestra_run_id"]
    async with httpx.AsyncClient(timeout=30) as http:
        run = await http.get(
            f"{served.base}/api/v1/runs/{run_id}",
            headers={"Authorization": f"Bearer {served.admin}"},
        )
    assert run.json()["status"] == "succeeded"


async def test_streaming_a_workflow_reports_each_step_then_completes(served: Served) -> None:
    async with _client(served, "/a2a/workflows/pair", served.admin, streaming=True) as client:
        message = new_message([new_data_part({"Topic": "herons"})], role=Role.ROLE_USER)
        events = [r async for r in client.send_message(SendMessageRequest(message=message))]
    updates = [e.status_update for e in events if e.HasField("status_update")]
    steps = [u.metadata["step"] for u in updates if "step" in u.metadata]
    assert steps == ["first", "second"]
    assert updates[-1].status.state == TaskState.TASK_STATE_COMPLETED
    artifacts = [e.artifact_update.artifact for e in events if e.HasField("artifact_update")]
    final = next(a for a in artifacts if a.name == "Final")
    assert "herons" in get_artifact_text(final)


async def test_viewer_reads_the_card_but_may_not_send(served: Served) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        refused = await http.post(
            f"{served.base}/a2a/agents/echo/",
            json={"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {}},
            headers={"Authorization": f"Bearer {served.viewer}"},
        )
        anonymous = await http.get(f"{served.base}/a2a/agents/echo/.well-known/agent-card.json")
        unexposed = await http.get(
            f"{served.base}/a2a/workflows/gated/.well-known/agent-card.json",
            headers={"Authorization": f"Bearer {served.viewer}"},
        )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert anonymous.status_code == 401
    assert unexposed.status_code == 404
    assert "/a2a/workflows/pair/" in unexposed.json()["error"]["message"]


@pytest.mark.parametrize("streaming", [False])
async def test_a_text_message_to_a_one_input_workflow_fills_that_input(
    served: Served, streaming: bool
) -> None:
    async with _client(served, "/a2a/workflows/pair", served.admin, streaming=streaming) as client:
        message = new_text_message("kingfishers", role=Role.ROLE_USER)
        responses = [r async for r in client.send_message(SendMessageRequest(message=message))]
    task = responses[-1].task
    assert task.status.state == TaskState.TASK_STATE_COMPLETED
    assert "kingfishers" in get_artifact_text(next(a for a in task.artifacts if a.name == "Final"))
