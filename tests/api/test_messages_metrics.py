"""The bus's metrics (per-topic counts, deliveries, latency, queue depth, dead letters)
appear in the server's /metrics, on the real app and container."""

from __future__ import annotations

import httpx

from orchestra.runtime.container import Container
from tests.api.conftest import Keys, auth


async def test_metrics_include_the_message_bus(
    client: httpx.AsyncClient, container: Container, keys: Keys
) -> None:
    bus = container.messages
    await bus.subscribe("watch", agent="ops", patterns=["review.#"])
    await bus.publish({"topic": "review.done", "body": {"ok": True}})
    await bus.publish({"topic": "review.done.late", "body": 2})
    (first,) = await bus.fetch(["watch"], limit=1, wait_s=10)
    await bus.ack(first)
    text = (await client.get("/metrics", headers=auth(keys.viewer))).text
    assert 'orchestra_messages_published_total{topic="review.done"} 1.0' in text
    assert 'orchestra_messages_delivered_total{subscription="watch"} 1.0' in text
    assert "orchestra_message_delivery_seconds_count 1.0" in text
    assert 'orchestra_message_queue_depth{subscription="watch"} 1.0' in text
    assert "orchestra_message_dead_letters 0.0" in text
