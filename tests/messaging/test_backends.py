"""One behaviour suite run against every backend for real: SQLite, PostgreSQL, Redis."""

from __future__ import annotations

import asyncio
import os

import pytest

from orchestra.messaging import MessageBus
from orchestra.messaging.errors import (
    DeadLetterNotFound,
    InvalidMessage,
    InvalidTopic,
    MessageTooLarge,
    PublishDenied,
    SubscribeDenied,
)
from orchestra.messaging.permissions import Permissions


async def drain(bus: MessageBus, names: list[str] | None = None, wait_s: float = 5.0) -> list:
    got = await bus.fetch(names, limit=100, wait_s=wait_s)
    await bus.ack(got)
    return got


async def test_topic_wildcards_route_to_matching_subscriptions(bus: MessageBus) -> None:
    await bus.subscribe("one", agent="a", patterns=["research.*"])
    await bus.subscribe("deep", agent="b", patterns=["research.#"])
    await bus.subscribe("other", agent="c", patterns=["sales.*"])
    published = await bus.publish({"topic": "research.results.berlin", "body": {"n": 1}})
    assert published.created and published.routed == 1
    assert (await bus.publish({"topic": "research.results", "body": 2})).routed == 2

    deep = await drain(bus, ["deep"])
    assert sorted(d.message.body if isinstance(d.message.body, int) else 1 for d in deep) == [1, 2]
    one = await drain(bus, ["one"])
    assert [d.message.topic for d in one] == ["research.results"]
    assert await bus.fetch(["other"], wait_s=0) == []
    assert (await bus.topic_counts())["research.results"] == 1


async def test_direct_broadcast_and_header_filters(bus: MessageBus) -> None:
    await bus.ensure_inbox("ada")
    await bus.ensure_inbox("bob")
    await bus.subscribe("german", agent="bob", patterns=["news.#"], filters={"lang": "de*"})
    await bus.publish({"to": "ada", "body": "hi ada"})
    await bus.publish({"broadcast": True, "body": "all"})
    await bus.publish({"topic": "news.today", "headers": {"lang": "en"}, "body": "en"})
    await bus.publish({"topic": "news.today", "headers": {"lang": "de-AT"}, "body": "de"})
    assert sorted(d.message.body for d in await drain(bus, ["inbox.ada"])) == ["all", "hi ada"]
    assert [d.message.body for d in await drain(bus, ["inbox.bob"])] == ["all"]
    german = await drain(bus, ["german"])
    assert [d.message.body for d in german] == ["de"]


async def test_priority_orders_delivery(bus: MessageBus) -> None:
    await bus.subscribe("q", agent="a", patterns=["jobs"])
    for priority in (1, 5, 9, 0, 8):
        await bus.publish({"topic": "jobs", "priority": priority, "body": priority})
    first = await bus.fetch(["q"], limit=1, wait_s=5)
    assert first[0].message.priority == 9
    await bus.ack(first)
    rest = await drain(bus, ["q"])
    assert [d.message.priority for d in rest][:2] == [8, 5]


async def test_unacked_is_redelivered_then_dead_lettered_and_replayed(bus: MessageBus) -> None:
    await bus.subscribe("work", agent="a", patterns=["work.*"])
    await bus.publish({"topic": "work.item", "body": {"x": 1}})
    attempts = []
    for _ in range(3):  # max_deliveries = 3 in the test policy; never acked
        got = await bus.fetch(["work"], limit=1, wait_s=10)
        assert len(got) == 1
        attempts.append(got[0].attempt)
    assert attempts == [1, 2, 3]
    # The fourth time the visibility timeout passes, the message goes to the DLQ.
    deadline = asyncio.get_running_loop().time() + 20
    while not await bus.dead_letters():
        assert await bus.fetch(["work"], limit=1, wait_s=0.3) == []
        assert asyncio.get_running_loop().time() < deadline
    (letter,) = await bus.dead_letters()
    assert letter.subscription == "work" and letter.message.body == {"x": 1}
    assert "max_deliveries" in letter.reason
    assert (await bus.dead_letter(letter.id)).id == letter.id
    assert await bus.replay([letter.id]) == 1
    assert await bus.dead_letters() == []
    again = await bus.fetch(["work"], limit=1, wait_s=10)
    assert again[0].attempt == 1 and again[0].message.body == {"x": 1}
    assert await bus.ack(again) == 1
    assert (await bus.depths())["work"] == 0


async def test_nack_backs_off_and_dead_flag_buries_at_once(bus: MessageBus) -> None:
    await bus.subscribe("n", agent="a", patterns=["n"])
    await bus.publish({"topic": "n", "body": "retry me"})
    first = (await bus.fetch(["n"], wait_s=5))[0]
    await bus.nack(first, reason="busy")
    second = (await bus.fetch(["n"], wait_s=10))[0]
    assert second.attempt == 2 and second.message.body == "retry me"
    await bus.nack(second, reason="poison", dead=True)
    (letter,) = await bus.dead_letters("n")
    assert letter.reason == "poison"
    assert await bus.purge() == 1
    assert await bus.dead_letters() == []
    with pytest.raises(DeadLetterNotFound):
        await bus.dead_letter(letter.id)


async def test_dedupe_key_stores_once(bus: MessageBus) -> None:
    await bus.subscribe("d", agent="a", patterns=["orders.new"])
    first = await bus.publish({"topic": "orders.new", "dedupe_key": "order-7", "body": 1})
    again = await bus.publish({"topic": "orders.new", "dedupe_key": "order-7", "body": 2})
    assert first.created and not again.created
    assert again.message.id == first.message.id and again.message.body == 1
    assert [d.message.body for d in await drain(bus, ["d"])] == [1]


async def test_ttl_expired_messages_are_not_delivered(bus: MessageBus) -> None:
    await bus.subscribe("t", agent="a", patterns=["t"])
    await bus.publish({"topic": "t", "ttl_s": 0.05, "body": "stale"})
    await bus.publish({"topic": "t", "body": "fresh"})
    await asyncio.sleep(0.1)  # let the first expire; the assertion is on content, not timing
    got = await drain(bus, ["t"])
    assert [d.message.body for d in got] == ["fresh"]


async def test_large_bodies_are_compressed_and_limits_enforced(bus: MessageBus) -> None:
    await bus.subscribe("big", agent="a", patterns=["big"])
    body = {"text": "word " * 20_000}
    published = await bus.publish({"topic": "big", "body": body})
    assert published.message.compressed and published.message.size < 20_000
    (delivery,) = await drain(bus, ["big"])
    assert delivery.message.body == body
    random_ish = {"data": os.urandom(300_000).hex()}  # gzip cannot shrink it below the limit
    with pytest.raises(MessageTooLarge):
        await bus.publish({"topic": "big", "body": random_ish})


async def test_validation_and_permissions(bus: MessageBus) -> None:
    with pytest.raises(InvalidMessage):
        await bus.publish({"topic": "a", "to": "b"})
    with pytest.raises(InvalidTopic):
        await bus.publish({"topic": "a.*"})
    with pytest.raises(InvalidMessage):
        await bus.publish({"topic": "a", "priority": 10})
    with pytest.raises(InvalidTopic):
        await bus.subscribe("x", agent="a", patterns=["a..b"])
    bus.permissions = Permissions.of(
        {"writer": (["review.*"], ["review.#"])}, default_publish=[], default_subscribe=[]
    )
    await bus.publish({"topic": "review.done"}, sender="writer")
    with pytest.raises(PublishDenied):
        await bus.publish({"topic": "sales.lead"}, sender="writer")
    with pytest.raises(PublishDenied):
        await bus.publish({"to": "bob"}, sender="writer")
    await bus.subscribe("w", agent="writer", patterns=["review.*.done"])
    with pytest.raises(SubscribeDenied):
        await bus.subscribe("w2", agent="writer", patterns=["#"])
    with pytest.raises(SubscribeDenied):
        await bus.subscribe("s", agent="stranger", patterns=["review.done"])


async def test_replay_since_delivers_retained_history(bus: MessageBus) -> None:
    await bus.publish({"topic": "review.done", "body": "early"})
    await bus.subscribe("late", agent="a", patterns=["review.*"], replay_since=0.0)
    assert [d.message.body for d in await drain(bus, ["late"])] == ["early"]
    history = await bus.history(pattern="review.#")
    assert [m.body for m in history] == ["early"]


async def test_waiting_fetch_wakes_on_publish(bus: MessageBus) -> None:
    await bus.subscribe("w", agent="a", patterns=["ping"])
    waiter = asyncio.create_task(bus.fetch(["w"], wait_s=30))
    await asyncio.sleep(0.05)
    await bus.publish({"topic": "ping", "body": "pong"})
    got = await asyncio.wait_for(waiter, 30)
    assert got[0].message.body == "pong"
    await bus.ack(got)
    await bus.refresh_metrics()
    text = __import__("prometheus_client").generate_latest(bus.metrics.registry).decode()
    assert 'orchestra_messages_published_total{topic="ping"} 1.0' in text
    assert 'orchestra_message_queue_depth{subscription="w"} 0.0' in text
