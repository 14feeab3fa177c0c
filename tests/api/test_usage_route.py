"""``GET /api/v1/runs/{id}/usage``: per-call records and roll-ups of a finished run."""

from __future__ import annotations

import httpx

from orchestra.runtime.container import Container
from tests.api.conftest import Keys, auth
from tests.api.project import wait_for


async def test_usage_of_a_run(client: httpx.AsyncClient, container: Container, keys: Keys) -> None:
    run_id = await container.runs.start_run("pair", {"Topic": "cats"})
    await wait_for(container.store, run_id)
    answer = await client.get(f"/api/v1/runs/{run_id}/usage", headers=auth(keys.viewer))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["run_id"] == run_id
    calls = body["calls"]
    assert [(c["step_id"], c["agent"], c["requested_model"]) for c in calls] == [
        ("first", "echo", "scripted/echo"),
        ("second", "echo", "scripted/echo"),
    ]
    assert all(c["deployment"].startswith("scripted/echo") for c in calls)
    assert all(c["error"] is None and c["attempt"] == 1 for c in calls)
    assert [g["key"] for g in body["by_step"]] == ["first", "second"]
    assert [(g["key"], g["calls"]) for g in body["by_agent"]] == [("echo", 2)]
    assert sum(g["calls"] for g in body["by_model"]) == 2
    total = body["total"]
    assert total["calls"] == 2
    assert total["prompt_tokens"] == sum(c["prompt_tokens"] for c in calls)
    assert total["total_tokens"] == total["prompt_tokens"] + total["completion_tokens"]
    # The stored per-step totals of the run agree with the per-call records.
    run = (await client.get(f"/api/v1/runs/{run_id}", headers=auth(keys.viewer))).json()
    assert run["usage"]["prompt_tokens"] == total["prompt_tokens"]
    assert run["usage"]["completion_tokens"] == total["completion_tokens"]


async def test_usage_of_an_unknown_run_is_not_found(client: httpx.AsyncClient, keys: Keys) -> None:
    answer = await client.get("/api/v1/runs/nope/usage", headers=auth(keys.viewer))
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"


async def test_usage_needs_a_key(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/v1/runs/nope/usage")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
