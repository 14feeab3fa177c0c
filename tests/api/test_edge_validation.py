"""Every request body and parameter is validated at the edge (issue 13, points 9 and 12).

Strings must be encodable Unicode (JSON can spell a lone surrogate that no database
stores), integers stay within what a database column holds, and every cursor the
schema admits is a position the server can use.
"""

from __future__ import annotations

import httpx

from orchestra.runtime.container import Container
from tests.api.conftest import Keys, auth
from tests.api.project import wait_for

SURROGATE_RUN = b'{"workflow": "pair", "inputs": {"Topic": "\\ud800"}}'


async def test_a_lone_surrogate_in_a_run_input_is_a_422(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    answer = await client.post(
        "/api/v1/runs",
        content=SURROGATE_RUN,
        headers={**auth(keys.operator), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert "surrogate" in error["details"]["fields"][0]["message"]
    runs = (await client.get("/api/v1/runs", headers=auth(keys.viewer))).json()
    assert runs["items"] == []


async def test_lone_surrogates_in_other_bodies_are_422(
    client: httpx.AsyncClient, keys: Keys
) -> None:
    bodies = {
        "/api/v1/keys": b'{"name": "\\udfff", "role": "viewer"}',
        "/api/v1/workflows/validate": b'{"filename": "a.workflow.md", "content": "\\ud800"}',
    }
    for path, body in bodies.items():
        answer = await client.post(
            path, content=body, headers={**auth(keys.admin), "Content-Type": "application/json"}
        )
        assert answer.status_code == 422, (path, answer.text)


async def test_events_after_beyond_a_database_integer_is_a_422(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    run_id = await container.runs.start_run("pair", {"Topic": "x"})
    await wait_for(container.store, run_id)
    path = f"/api/v1/runs/{run_id}/events"
    biggest = await client.get(path, params={"after": 2**63 - 1}, headers=auth(keys.viewer))
    assert biggest.status_code == 200
    assert biggest.json()["items"] == []
    beyond = await client.get(path, params={"after": 2**63}, headers=auth(keys.viewer))
    assert beyond.status_code == 422, beyond.text
    assert beyond.json()["error"]["details"]["fields"][0]["loc"] == ["query", "after"]


async def test_any_cursor_of_the_schema_shape_is_a_page(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    run_id = await container.runs.start_run("pair", {"Topic": "x"})
    await wait_for(container.store, run_id)
    for cursor in ("0~", "99999999999999999999~zz", "1e999~\u00e9", "12.5~a~b"):
        page = await client.get(
            "/api/v1/runs", params={"cursor": cursor}, headers=auth(keys.viewer)
        )
        assert page.status_code == 200, (cursor, page.text)
    for cursor in ("0", "999999999999999999", "1"):
        page = await client.get(
            "/api/v1/audit", params={"cursor": cursor}, headers=auth(keys.admin)
        )
        assert page.status_code == 200, (cursor, page.text)
    for cursor in ("!!!", "\u00b2", "9" * 19):
        refused = await client.get(
            "/api/v1/audit", params={"cursor": cursor}, headers=auth(keys.admin)
        )
        assert refused.status_code == 422, (cursor, refused.text)
