"""An agent registered through the API may pin tool versions; a malformed range is a 422
naming the entry (issue 18.5)."""

from __future__ import annotations

import httpx

from tests.api.conftest import Keys, auth
from tests.api.test_team_routes import client, container  # noqa: F401  (fixtures)


async def test_pins_are_accepted_and_malformed_ranges_refused(
    client: httpx.AsyncClient,  # noqa: F811
    keys: Keys,
) -> None:
    body = {
        "name": "pinned",
        "instructions": "You read.",
        "model": "scripted/echo",
        "tools": ["files.read@^1", "files.list@>=1,<2"],
    }
    made = await client.post("/api/v1/agents", json=body, headers=auth(keys.admin))
    assert made.status_code == 201, made.text
    bad = await client.post(
        "/api/v1/agents",
        json={**body, "name": "broken", "tools": ["files.read@>>1"]},
        headers=auth(keys.admin),
    )
    assert bad.status_code == 422
    assert "invalid version range" in bad.text and "files.read@>>1" in bad.text
