"""The last active admin key cannot be revoked over the API (issue 13, point 10)."""

from __future__ import annotations

import httpx

from orchestra.runtime.container import Container
from tests.api.conftest import Keys, auth


async def test_revoking_the_last_admin_key_is_a_409(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    me = (await client.get("/api/v1/me", headers=auth(keys.admin))).json()
    refused = await client.delete(f"/api/v1/keys/{me['key_id']}", headers=auth(keys.admin))
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "conflict"
    assert "last active admin key" in error["message"]
    assert (await client.get("/api/v1/me", headers=auth(keys.admin))).status_code == 200

    second, second_key = await container.keys.create("second admin", "admin")
    revoked = await client.delete(f"/api/v1/keys/{me['key_id']}", headers=auth(keys.admin))
    assert revoked.status_code == 200
    assert (await client.get("/api/v1/me", headers=auth(keys.admin))).status_code == 401
    last = await client.delete(f"/api/v1/keys/{second.id}", headers=auth(second_key))
    assert last.status_code == 409
    # Revoking an already revoked key stays idempotent.
    again = await client.delete(f"/api/v1/keys/{me['key_id']}", headers=auth(second_key))
    assert again.status_code == 200
