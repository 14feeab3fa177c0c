"""Refused attempts (401/403) reach the audit log, but a flood cannot fill it (issue 13,
point 13)."""

from __future__ import annotations

import httpx

from orchestra.api.deps import REFUSALS_AUDITED
from tests.api.conftest import Keys, auth


async def _audit(client: httpx.AsyncClient, keys: Keys) -> list[dict[str, object]]:
    page = await client.get("/api/v1/audit", params={"limit": 500}, headers=auth(keys.admin))
    items: list[dict[str, object]] = page.json()["items"]
    return items


async def test_refused_attempts_are_audited_and_rate_limited(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    viewer = (await client.get("/api/v1/me", headers=auth(keys.viewer))).json()
    assert (await client.get("/api/v1/keys", headers=auth(keys.viewer))).status_code == 403
    secret = "orch_not-a-real-key"
    assert (await client.get("/api/v1/runs", headers=auth(secret))).status_code == 401
    entries = await _audit(client, keys)
    assert [(e["action"], e["key_id"], e["target"]) for e in entries[:2]] == [
        ("auth.refused", "-", "GET /api/v1/runs"),
        ("auth.forbidden", viewer["key_id"], "GET /api/v1/keys"),
    ]
    assert entries[0]["details"] == {"status": 401, "client": "127.0.0.1"}
    assert all(secret not in str(e) for e in entries)

    for _ in range(100):
        assert (await client.get("/api/v1/me")).status_code == 401
    refused = [e for e in await _audit(client, keys) if str(e["action"]).startswith("auth.")]
    assert len(refused) == int(REFUSALS_AUDITED.split("/")[0])
