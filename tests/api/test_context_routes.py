"""``/api/v1/context``: roles, provenance from the caller's key, filters, ranked ``?q=``
search, edits, deletes, and bad input answered with a stable code and the field."""

from __future__ import annotations

import httpx

from orchestra.context.entries import MAX_DATA_BYTES
from tests.api.conftest import Keys, auth

URL = "/api/v1/context"


async def test_crud_search_and_filters(client: httpx.AsyncClient, keys: Keys) -> None:
    op = auth(keys.operator)
    first = await client.post(
        URL,
        json={
            "job_id": "j1",
            "job_type": "prospecting",
            "context_data": {"title": "CTO", "city": "Berlin"},
            "tags": ["crm"],
        },
        headers=op,
    )
    assert first.status_code == 201, first.text
    entry = first.json()
    assert entry["provenance"] == {
        "kind": "user",
        "by": "operator key",
        "run_id": None,
        "step_id": None,
        "agent": None,
    }
    second = await client.post(
        URL,
        json={"job_id": "j2", "job_type": "billing", "context_data": {"city": "Berlin"}},
        headers=op,
    )
    assert second.status_code == 201

    viewer = auth(keys.viewer)
    listed = (await client.get(URL, headers=viewer)).json()
    assert [e["id"] for e in listed["items"]] == [second.json()["id"], entry["id"]]
    assert listed["total"] == 2
    only = (await client.get(URL, params={"job_type": "prospecting"}, headers=viewer)).json()
    assert [e["id"] for e in only["items"]] == [entry["id"]]
    tagged = (await client.get(URL, params={"tag": "crm"}, headers=viewer)).json()
    assert [e["id"] for e in tagged["items"]] == [entry["id"]]

    found = (await client.get(URL, params={"q": "cto berlin"}, headers=viewer)).json()
    assert [e["id"] for e in found["items"]] == [entry["id"]]
    assert found["items"][0]["rank"] > 0
    both = (await client.get(URL, params={"q": "berlin"}, headers=viewer)).json()
    assert len(both["items"]) == 2
    narrowed = (
        await client.get(URL, params={"q": "berlin", "job_id": "j2"}, headers=viewer)
    ).json()
    assert [e["id"] for e in narrowed["items"]] == [second.json()["id"]]

    edited = await client.put(
        f"{URL}/{entry['id']}", json={"context_data": {"city": "Hamburg"}}, headers=op
    )
    assert edited.status_code == 200 and edited.json()["context_data"] == {"city": "Hamburg"}
    assert edited.json()["tags"] == ["crm"]
    got = await client.get(f"{URL}/{entry['id']}", headers=viewer)
    assert got.json()["context_data"] == {"city": "Hamburg"}

    assert (await client.delete(f"{URL}/{entry['id']}", headers=op)).status_code == 204
    gone = await client.get(f"{URL}/{entry['id']}", headers=viewer)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "not_found"
    assert gone.json()["error"]["details"]["error"] == "context_not_found"


async def test_roles(client: httpx.AsyncClient, keys: Keys) -> None:
    body = {"job_id": "j", "job_type": "t", "context_data": 1}
    refused = await client.post(URL, json=body, headers=auth(keys.viewer))
    assert refused.status_code == 403
    assert (await client.get(URL)).status_code == 401
    made = await client.post(URL, json=body, headers=auth(keys.operator))
    refused_delete = await client.delete(f"{URL}/{made.json()['id']}", headers=auth(keys.viewer))
    assert refused_delete.status_code == 403


async def test_bad_input_names_the_field(client: httpx.AsyncClient, keys: Keys) -> None:
    op = auth(keys.operator)
    big = {"job_id": "j", "job_type": "t", "context_data": "x" * (MAX_DATA_BYTES + 10)}
    answer = await client.post(URL, json=big, headers=op)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "validation_error"
    assert "context_data" in str(error)
    bad_tag = {"job_id": "j", "job_type": "t", "context_data": 1, "tags": ["no spaces"]}
    answer = await client.post(URL, json=bad_tag, headers=op)
    assert answer.status_code == 422 and "tags" in str(answer.json()["error"])
    missing = await client.post(URL, json={"job_type": "t", "context_data": 1}, headers=op)
    assert missing.status_code == 422 and "job_id" in str(missing.json()["error"])
    assert (await client.get(URL + "/abc", headers=op)).status_code == 422
