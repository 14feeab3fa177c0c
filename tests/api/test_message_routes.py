"""The message-bus routes on the real app and container (project database backend):
roles, send/publish with dedupe, history by pattern, topics, and the dead-letter queue
listed, shown, replayed and purged; bad input answers JSON with stable codes."""

from __future__ import annotations

import httpx

from orchestra.runtime.container import Container
from tests.api.conftest import Keys, auth


async def test_publish_send_and_history_by_pattern(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    await container.messages.subscribe("watch", agent="ops", patterns=["review.#"])
    body = {"topic": "review.done", "body": {"verdict": "ok"}, "dedupe_key": "r-1"}
    sent = await client.post("/api/v1/messages", json=body, headers=auth(keys.operator))
    assert sent.status_code == 201, sent.text
    first = sent.json()
    assert first["created"] is True and first["routed"] == 1
    assert first["message"]["sender"] == "operator"
    again = await client.post("/api/v1/messages", json=body, headers=auth(keys.operator))
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["message"]["id"] == first["message"]["id"]
    direct = {"to": "reviewer", "body": "hi"}
    assert (
        await client.post("/api/v1/messages", json=direct, headers=auth(keys.operator))
    ).status_code == 201
    other = {"topic": "research.berlin", "body": 1}
    await client.post("/api/v1/messages", json=other, headers=auth(keys.operator))

    history = await client.get("/api/v1/messages?topic=review.*", headers=auth(keys.viewer))
    assert history.status_code == 200, history.text
    assert [m["body"] for m in history.json()["items"]] == [{"verdict": "ok"}]
    everything = await client.get("/api/v1/messages", headers=auth(keys.viewer))
    assert [m["body"] for m in everything.json()["items"]] == [{"verdict": "ok"}, "hi", 1]
    topics = (await client.get("/api/v1/messages/topics", headers=auth(keys.viewer))).json()
    assert topics["topics"]["review.done"] == 1 and topics["depths"]["watch"] == 1
    (delivery,) = await container.messages.fetch(["watch"], wait_s=10)
    assert delivery.message.id == first["message"]["id"]

    audited = await container.audit.page(20)
    assert "message.publish" in [entry.action for entry in audited]


async def test_roles_bad_input_and_permission_denial(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    ok = {"topic": "review.done", "body": 1}
    refused = await client.post("/api/v1/messages", json=ok, headers=auth(keys.viewer))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    none = await client.get("/api/v1/messages")
    assert none.status_code == 401
    bad_topic = await client.post(
        "/api/v1/messages", json={"topic": "a..b"}, headers=auth(keys.operator)
    )
    assert bad_topic.status_code == 422, bad_topic.text
    assert bad_topic.json()["error"]["code"] == "validation_error"
    two = await client.post(
        "/api/v1/messages", json={"topic": "a", "to": "b"}, headers=auth(keys.operator)
    )
    assert two.status_code == 422 and "exactly one" in two.text
    for odd in ("\u0089\u00e4", "a b", "x" * 101):  # no inbox name could hold these
        bad_to = await client.post(
            "/api/v1/messages", json={"to": odd}, headers=auth(keys.operator)
        )
        assert bad_to.status_code == 422, bad_to.text
        assert bad_to.json()["error"]["code"] == "validation_error"
    pattern = await client.get("/api/v1/messages?topic=a.#.#x", headers=auth(keys.viewer))
    assert pattern.status_code == 422
    assert pattern.json()["error"]["details"]["error"] == "invalid_topic"
    # The author agent may only publish review.request (settings): as it, review.done is refused.
    container.messages.permissions = type(container.messages.permissions).of(
        {"author": (["review.request"], [])}
    )
    denied = await client.post(
        "/api/v1/messages", json={**ok, "sender": "author"}, headers=auth(keys.operator)
    )
    assert denied.status_code == 422, denied.text
    error = denied.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["error"] == "publish_denied"
    assert "messaging.permissions.author" in error["message"]
    allowed = await client.post(
        "/api/v1/messages",
        json={"topic": "review.request", "sender": "author"},
        headers=auth(keys.operator),
    )
    assert allowed.status_code == 201 and allowed.json()["message"]["sender"] == "author"


async def test_dead_letters_listed_shown_replayed_and_purged(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    bus = container.messages
    await bus.subscribe("jobs", agent="worker", patterns=["jobs.#"])
    for n in (1, 2):
        await bus.publish({"topic": "jobs.run", "body": n})
    for delivery in await bus.fetch(["jobs"], limit=2, wait_s=10):
        await bus.nack(delivery, reason=f"bad job {delivery.message.body}", dead=True)

    listed = await client.get("/api/v1/messages/dlq?subscription=jobs", headers=auth(keys.viewer))
    assert listed.status_code == 200, listed.text
    letters = listed.json()["items"]
    assert sorted(x["message"]["body"] for x in letters) == [1, 2]
    first = next(x for x in letters if x["message"]["body"] == 1)
    shown = await client.get(f"/api/v1/messages/dlq/{first['id']}", headers=auth(keys.viewer))
    assert shown.status_code == 200 and shown.json()["reason"] == "bad job 1"
    missing = await client.get("/api/v1/messages/dlq/nope", headers=auth(keys.viewer))
    assert missing.status_code == 404
    assert missing.json()["error"]["details"]["error"] == "dead_letter_not_found"

    ids = {"ids": [first["id"]]}
    viewer = await client.post("/api/v1/messages/dlq/replay", json=ids, headers=auth(keys.viewer))
    assert viewer.status_code == 403
    unknown = await client.post(
        "/api/v1/messages/dlq/replay", json={"ids": ["nope"]}, headers=auth(keys.operator)
    )
    assert unknown.status_code == 404
    replayed = await client.post(
        "/api/v1/messages/dlq/replay", json=ids, headers=auth(keys.operator)
    )
    assert replayed.status_code == 200 and replayed.json() == {"count": 1}
    (again,) = await bus.fetch(["jobs"], wait_s=10)
    assert again.message.body == 1 and again.attempt == 1
    await bus.ack(again)

    purged = await client.post("/api/v1/messages/dlq/purge", json={}, headers=auth(keys.operator))
    assert purged.status_code == 200 and purged.json() == {"count": 1}
    left = await client.get("/api/v1/messages/dlq", headers=auth(keys.viewer))
    assert left.json()["items"] == []
