"""``default`` is a model alias over the API too (issue 13, point 16).

The test project sets ``[models] default = "scripted/echo"``, a provider string that
no model-list entry names: ``GET /models`` must still list ``default`` (and what it
stands for), and probing it must call the scripted model.
"""

from __future__ import annotations

import httpx

from tests.api.conftest import Keys, auth


async def test_default_is_listed_and_probed(client: httpx.AsyncClient, keys: Keys) -> None:
    models = (await client.get("/api/v1/models", headers=auth(keys.viewer))).json()
    by_alias = {m["alias"]: m for m in models}
    assert by_alias["default"]["alias_of"] == "scripted/echo"
    assert by_alias["default"]["deployments"][0]["litellm_params"]["model"] == "scripted/echo"
    assert by_alias["echo"]["alias_of"] is None
    probe = await client.post("/api/v1/models/default/probe", headers=auth(keys.operator))
    assert probe.status_code == 200, probe.text
    assert probe.json()["ok"] is True, probe.json()
    missing = await client.post("/api/v1/models/ghost/probe", headers=auth(keys.operator))
    assert missing.status_code == 404
    assert "default" in missing.json()["error"]["message"]
