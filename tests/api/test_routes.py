"""Every route with each role, allowed and denied; the error envelope; run actions end to end."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orchestra.engine.states import RunStatus
from orchestra.runtime.container import Container
from tests.api.conftest import Keys, auth
from tests.api.project import wait_for

ROLES = ("viewer", "operator", "admin")
RANK = {role: index for index, role in enumerate(ROLES)}

# (method, path, needed role, JSON body, status when allowed). {run} is a finished run.
ROUTES: list[tuple[str, str, str, Any, int]] = [
    ("GET", "/metrics", "viewer", None, 200),
    ("GET", "/api/v1/me", "viewer", None, 200),
    ("GET", "/api/v1/workflows", "viewer", None, 200),
    ("GET", "/api/v1/workflows/pair", "viewer", None, 200),
    (
        "POST",
        "/api/v1/workflows/validate",
        "viewer",
        {"filename": "x.workflow.md", "content": "# no"},
        200,
    ),
    ("GET", "/api/v1/agents", "viewer", None, 200),
    ("GET", "/api/v1/agents/echo", "viewer", None, 200),
    ("POST", "/api/v1/runs", "operator", {"workflow": "pair", "inputs": {"Topic": "t"}}, 201),
    ("GET", "/api/v1/runs", "viewer", None, 200),
    ("GET", "/api/v1/runs/{run}", "viewer", None, 200),
    ("POST", "/api/v1/runs/{run}/cancel", "operator", None, 409),
    ("POST", "/api/v1/runs/{run}/resume", "operator", None, 409),
    ("POST", "/api/v1/runs/{run}/steps/first/approve", "operator", {"reason": "ok"}, 409),
    ("POST", "/api/v1/runs/{run}/steps/first/reject", "operator", {"reason": "no"}, 409),
    ("GET", "/api/v1/runs/{run}/events", "viewer", None, 200),
    ("GET", "/api/v1/models", "viewer", None, 200),
    ("POST", "/api/v1/models/echo/probe", "operator", None, 200),
    ("GET", "/api/v1/keys", "admin", None, 200),
    ("POST", "/api/v1/keys", "admin", {"name": "new", "role": "viewer"}, 201),
    ("DELETE", "/api/v1/keys/{key_id}", "admin", None, 200),
    ("GET", "/api/v1/audit", "admin", None, 200),
]
CASES = [
    pytest.param(method, path, role, body, status, needed, id=f"{method} {path} as {role}")
    for method, path, needed, body, status in ROUTES
    for role in ROLES
]


@pytest.fixture
async def finished_run(container: Container) -> str:
    run_id = await container.runs.start_run("pair", {"Topic": "cats"})
    await wait_for(container.store, run_id)
    return run_id


async def _call(
    client: httpx.AsyncClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    return await client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "role", "body", "status", "needed"), CASES)
async def test_each_role_is_allowed_or_denied(
    client: httpx.AsyncClient,
    container: Container,
    keys: Keys,
    finished_run: str,
    method: str,
    path: str,
    role: str,
    body: Any,
    status: int,
    needed: str,
) -> None:
    victim, _ = await container.keys.create("victim", "viewer")
    url = path.format(run=finished_run, key_id=victim.id)
    response = await _call(client, method, url, body, auth(keys.of(role)))
    if RANK[role] >= RANK[needed]:
        assert response.status_code == status, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path", "needed", "body", "status"), ROUTES)
async def test_no_key_or_a_bad_key_is_unauthorized(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    needed: str,
    body: Any,
    status: int,
) -> None:
    url = path.format(run="r", key_id="k")
    for headers in ({}, auth("orch_123_nope"), {"X-API-Key": "garbage"}):
        response = await _call(client, method, url, body, headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


async def test_health_needs_no_key(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok"}


async def test_x_api_key_header_and_revocation(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    row, key = await container.keys.create("temp", "viewer")
    assert (await client.get("/api/v1/me", headers={"X-API-Key": key})).json()["role"] == "viewer"
    revoked = await client.delete(f"/api/v1/keys/{row.id}", headers=auth(keys.admin))
    assert revoked.json()["revoked_at"] is not None
    assert (await client.get("/api/v1/me", headers={"X-API-Key": key})).status_code == 401


async def test_created_key_works_and_its_secret_is_never_listed(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    created = await client.post(
        "/api/v1/keys", json={"name": "ci", "role": "operator"}, headers=auth(keys.admin)
    )
    secret = created.json()["key"]
    me = await client.get("/api/v1/me", headers=auth(secret))
    assert me.json() == {"key_id": created.json()["id"], "name": "ci", "role": "operator"}
    listing = await client.get("/api/v1/keys", headers=auth(keys.admin))
    assert secret not in listing.text
    assert "key_hash" not in listing.text


async def test_start_run_and_read_it_back(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    started = await client.post(
        "/api/v1/runs",
        json={"workflow": "pair", "inputs": {"Topic": "owls"}},
        headers=auth(keys.operator),
    )
    assert started.status_code == 201
    run_id = started.json()["id"]
    await wait_for(container.store, run_id)
    run = (await client.get(f"/api/v1/runs/{run_id}", headers=auth(keys.viewer))).json()
    assert run["status"] == "succeeded"
    assert run["outputs"] == {"Final": "echo: Improve echo: Write about owls.."}
    assert [s["id"] for s in run["steps"]] == ["first", "second"]
    assert run["usage"]["calls"] == 2
    events = (await client.get(f"/api/v1/runs/{run_id}/events", headers=auth(keys.viewer))).json()
    seqs = [e["seq"] for e in events["items"]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert events["last_seq"] == seqs[-1]
    assert events["items"][-1]["type"] == "run_finished"
    later = await client.get(
        f"/api/v1/runs/{run_id}/events", params={"after": 2, "limit": 2}, headers=auth(keys.viewer)
    )
    assert [e["seq"] for e in later.json()["items"]] == [3, 4]
    assert later.json()["last_seq"] == 4


async def test_start_run_errors(client: httpx.AsyncClient, keys: Keys) -> None:
    unknown = await client.post(
        "/api/v1/runs", json={"workflow": "nope", "inputs": {}}, headers=auth(keys.operator)
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"
    missing = await client.post(
        "/api/v1/runs", json={"workflow": "pair", "inputs": {}}, headers=auth(keys.operator)
    )
    assert missing.status_code == 422
    assert "Topic" in missing.json()["error"]["message"]
    malformed = await client.post("/api/v1/runs", json={"workflow": 3}, headers=auth(keys.operator))
    assert malformed.status_code == 422
    body = malformed.json()["error"]
    assert body["code"] == "validation_error"
    assert body["details"]["fields"][0]["loc"] == ["body", "workflow"]


async def test_unknown_run_is_not_found(client: httpx.AsyncClient, keys: Keys) -> None:
    for path in ("/api/v1/runs/nope", "/api/v1/runs/nope/events"):
        response = await client.get(path, headers=auth(keys.viewer))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_approve_and_reject_a_waiting_step(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    approved = await container.runs.start_run("gated", {})
    await wait_for(container.store, approved, RunStatus.WAITING)
    answer = await client.post(
        f"/api/v1/runs/{approved}/steps/act/approve",
        json={"reason": "looks good"},
        headers=auth(keys.operator),
    )
    assert answer.status_code == 200
    act = next(s for s in answer.json()["steps"] if s["id"] == "act")
    assert act["approval"]["decision"] == "approved"
    assert act["approval"]["reason"] == "looks good"
    assert (await wait_for(container.store, approved)).status is RunStatus.SUCCEEDED
    again = await client.post(
        f"/api/v1/runs/{approved}/steps/act/approve", headers=auth(keys.operator)
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"

    rejected = await container.runs.start_run("gated", {})
    await wait_for(container.store, rejected, RunStatus.WAITING)
    no_step = await client.post(
        f"/api/v1/runs/{rejected}/steps/ghost/reject", headers=auth(keys.operator)
    )
    assert no_step.status_code == 404
    answer = await client.post(
        f"/api/v1/runs/{rejected}/steps/act/reject", headers=auth(keys.operator)
    )
    assert answer.status_code == 200
    assert (await wait_for(container.store, rejected)).status is RunStatus.FAILED


async def test_cancel_a_running_run(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    run_id = await container.runs.start_run("busy", {})
    await wait_for(container.store, run_id, RunStatus.RUNNING)
    answer = await client.post(f"/api/v1/runs/{run_id}/cancel", headers=auth(keys.operator))
    assert answer.status_code == 200
    assert answer.json()["status"] == "cancelled"
    again = await client.post(f"/api/v1/runs/{run_id}/cancel", headers=auth(keys.operator))
    assert again.status_code == 409


async def test_list_runs_filters_and_pages(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    ids = [await container.runs.start_run("pair", {"Topic": str(i)}) for i in range(5)]
    gated = await container.runs.start_run("gated", {})
    for run_id in ids:
        await wait_for(container.store, run_id)
    await wait_for(container.store, gated, RunStatus.WAITING)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "workflow": "pair"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/runs", params=params, headers=auth(keys.viewer))).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    waiting = (
        await client.get("/api/v1/runs", params={"status": "waiting"}, headers=auth(keys.viewer))
    ).json()
    assert [item["id"] for item in waiting["items"]] == [gated]
    bad = await client.get("/api/v1/runs", params={"cursor": "!!!"}, headers=auth(keys.viewer))
    assert bad.status_code == 422


async def test_state_changes_are_audited(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    me = (await client.get("/api/v1/me", headers=auth(keys.operator))).json()
    started = await client.post(
        "/api/v1/runs",
        json={"workflow": "pair", "inputs": {"Topic": "x"}},
        headers=auth(keys.operator),
    )
    await client.post(
        "/api/v1/keys", json={"name": "n", "role": "viewer"}, headers=auth(keys.admin)
    )
    entries = (await client.get("/api/v1/audit", headers=auth(keys.admin))).json()["items"]
    assert [(e["action"], e["key_id"]) for e in entries][:2] == [
        ("key.create", (await client.get("/api/v1/me", headers=auth(keys.admin))).json()["key_id"]),
        ("run.start", me["key_id"]),
    ]
    assert entries[1]["target"] == started.json()["id"]
    assert entries[1]["details"] == {"workflow": "pair"}
    page = (await client.get("/api/v1/audit", params={"limit": 1}, headers=auth(keys.admin))).json()
    rest = (
        await client.get(
            "/api/v1/audit", params={"cursor": page["next_cursor"]}, headers=auth(keys.admin)
        )
    ).json()
    assert [e["action"] for e in page["items"] + rest["items"]] == [e["action"] for e in entries]


async def test_validate_reports_diagnostics(client: httpx.AsyncClient, keys: Keys) -> None:
    bad = "---\nname: x\n---\n## Step: a\n* **Agent:** [Ghost](../agents/ghost.agent.md)\n* **Output:** ${A}\n\nDo.\n"
    answer = (
        await client.post(
            "/api/v1/workflows/validate",
            json={"filename": "x.workflow.md", "content": bad},
            headers=auth(keys.viewer),
        )
    ).json()
    assert answer["ok"] is False
    assert answer["diagnostics"][0]["line"] == 5
    good = bad.replace("Ghost](../agents/ghost", "Echo](../agents/echo")
    answer = (
        await client.post(
            "/api/v1/workflows/validate",
            json={"filename": "x.workflow.md", "content": good},
            headers=auth(keys.viewer),
        )
    ).json()
    assert answer == {"ok": True, "diagnostics": []}


async def test_probe_reports_latency_and_usage(client: httpx.AsyncClient, keys: Keys) -> None:
    answer = (await client.post("/api/v1/models/echo/probe", headers=auth(keys.operator))).json()
    assert answer["ok"] is True
    assert answer["usage"]["completion_tokens"] > 0
    missing = await client.post("/api/v1/models/ghost/probe", headers=auth(keys.operator))
    assert missing.status_code == 404
    models = (await client.get("/api/v1/models", headers=auth(keys.viewer))).json()
    assert {m["alias"] for m in models} >= {"echo", "local"}


async def test_metrics_count_runs_steps_and_tokens(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    run_id = await container.runs.start_run("pair", {"Topic": "m"})
    await wait_for(container.store, run_id)
    text = (await client.get("/metrics", headers=auth(keys.viewer))).text
    assert 'orchestra_runs{state="succeeded"} 1.0' in text
    assert 'orchestra_step_duration_seconds_count{outcome="succeeded"} 2.0' in text
    assert 'orchestra_tokens_total{kind="completion"}' in text
    assert "orchestra_cost_usd_total" in text


async def test_project_edits_are_picked_up_without_restart(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    import asyncio

    path = container.settings.project_dir / "workflows" / "pair.workflow.md"
    path.write_text(path.read_text().replace("Two steps, the second reads the first.", "Edited."))
    for _ in range(100):
        found = (await client.get("/api/v1/workflows/pair", headers=auth(keys.viewer))).json()
        if found["description"] == "Edited.":
            break
        await asyncio.sleep(0.05)
    assert found["description"] == "Edited."


async def test_workflow_answers_its_markdown_source(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    """The web UI shows the workflow's Markdown beside its DAG, read-only."""
    path = container.settings.project_dir / "workflows" / "pair.workflow.md"
    found = (await client.get("/api/v1/workflows/pair", headers=auth(keys.viewer))).json()
    assert found["source"] == path.read_text(encoding="utf-8")
