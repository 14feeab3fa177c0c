"""The message bus on the project database (SQLite or PostgreSQL): the default backend.

Publishing stores the message and one delivery row per subscription it is routed
to in one transaction, so a message is either fully routed or not stored at all.
A consumer claims ready rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's
single writer serialises claims) by moving their ``available_at`` one visibility
timeout ahead and counting the attempt: a consumer that dies (``kill -9``) leaves
the row to come back when that time passes. An ack deletes the row if the attempt
still matches (a stale consumer's late ack cannot remove a newer delivery).

Waiting consumers wake at once for messages this process publishes and poll every
``poll_s`` for other processes'.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from orchestra.messaging.backend import DeliveryPolicy, Envelope, Published, Router
from orchestra.messaging.codec import decode_body
from orchestra.messaging.errors import DeadLetterNotFound
from orchestra.messaging.model import DeadLetter, Delivery, Message, Subscription
from orchestra.messaging.topics import matches
from orchestra.store.database import Database
from orchestra.store.messages.tables import (
    message_deliveries,
    message_meta,
    message_subscriptions,
    message_topics,
    messages,
)

_m = messages.c
_d = message_deliveries.c
_s = message_subscriptions.c
_VERSION = "subscriptions"
_PRUNE_EVERY = 1000


def _message(row: Any) -> Message:
    return Message(
        id=row.id,
        sender=row.sender,
        to=row.recipient,
        topic=row.topic,
        broadcast=bool(row.broadcast),
        priority=row.priority,
        headers=json.loads(row.headers_json),
        body=decode_body(row.body, bool(row.compressed)),
        ttl_s=row.ttl_s,
        expires_at=row.expires_at,
        dedupe_key=row.dedupe_key,
        published_at=row.published_at,
        size=row.size,
        compressed=bool(row.compressed),
    )


def _subscription(row: Any) -> Subscription:
    return Subscription(
        name=row.name,
        agent=row.agent,
        patterns=tuple(json.loads(row.patterns_json)),
        filters=json.loads(row.filters_json),
        inbox=bool(row.inbox),
        max_deliveries=row.max_deliveries,
        created_at=row.created_at,
    )


_MESSAGE_COLUMNS = (
    _m.seq,
    _m.id,
    _m.sender,
    _m.recipient,
    _m.topic,
    _m.broadcast,
    _m.priority,
    _m.headers_json,
    _m.body,
    _m.compressed,
    _m.size,
    _m.ttl_s,
    _m.expires_at,
    _m.dedupe_key,
    _m.published_at,
)


class SqlMessageBackend:
    """:class:`~orchestra.messaging.backend.MessageBackend` on a :class:`Database`."""

    name = "database"

    def __init__(self, database: Database, policy: DeliveryPolicy | None = None) -> None:
        self.database = database
        self.policy = policy or DeliveryPolicy()
        self._router = Router(())
        self._version = -1
        self._wake = asyncio.Event()
        self._published = 0

    async def start(self) -> None:
        await self.database.write(self._refresh)

    async def aclose(self) -> None:
        self._wake.set()

    # -- subscriptions ---------------------------------------------------------------

    def _bump(self, connection: Connection) -> None:
        changed = connection.execute(
            update(message_meta)
            .where(message_meta.c.key == _VERSION)
            .values(value=message_meta.c.value + 1)
        ).rowcount
        if not changed:
            connection.execute(insert(message_meta).values(key=_VERSION, value=1))

    def _refresh(self, connection: Connection) -> Router:
        """The routing index, rebuilt when another transaction changed subscriptions."""
        version = connection.execute(
            select(message_meta.c.value).where(message_meta.c.key == _VERSION)
        ).scalar()
        version = int(version or 0)
        if version != self._version:
            rows = connection.execute(select(message_subscriptions)).all()
            self._router = Router(_subscription(r) for r in rows)
            self._version = version
        return self._router

    async def save_subscription(
        self, subscription: Subscription, *, replay_since: float | None = None
    ) -> Subscription:
        def work(connection: Connection) -> Subscription:
            values = {
                "agent": subscription.agent,
                "patterns_json": json.dumps(list(subscription.patterns)),
                "filters_json": json.dumps(subscription.filters, sort_keys=True),
                "inbox": subscription.inbox,
                "max_deliveries": subscription.max_deliveries,
            }
            existing = connection.execute(
                select(message_subscriptions).where(_s.name == subscription.name)
            ).first()
            if existing is None:
                connection.execute(
                    insert(message_subscriptions).values(
                        name=subscription.name, created_at=subscription.created_at, **values
                    )
                )
            else:
                connection.execute(
                    update(message_subscriptions)
                    .where(_s.name == subscription.name)
                    .values(**values)
                )
            self._bump(connection)
            if replay_since is not None and subscription.patterns:
                self._replay_history(connection, subscription, replay_since)
            row = connection.execute(
                select(message_subscriptions).where(_s.name == subscription.name)
            ).one()
            return _subscription(row)

        saved = await self.database.write(work)
        self._wake.set()
        return saved

    def _replay_history(
        self, connection: Connection, subscription: Subscription, since: float
    ) -> None:
        now = time.time()
        rows = connection.execute(
            select(*_MESSAGE_COLUMNS).where(_m.published_at >= since, _m.topic.is_not(None))
        ).all()
        already = set(
            connection.execute(
                select(_d.message_seq).where(_d.subscription == subscription.name)
            ).scalars()
        )
        fresh = []
        for row in rows:
            if row.seq in already or (row.expires_at is not None and row.expires_at <= now):
                continue
            if not any(matches(p, row.topic) for p in subscription.patterns):
                continue
            if not subscription.accepts(_message(row)):
                continue
            fresh.append(row)
        if fresh:
            connection.execute(
                insert(message_deliveries),
                [
                    {
                        "message_seq": r.seq,
                        "subscription": subscription.name,
                        "priority": r.priority,
                        "state": "ready",
                        "attempts": 0,
                        "available_at": now,
                    }
                    for r in fresh
                ],
            )

    async def delete_subscription(self, name: str) -> bool:
        def work(connection: Connection) -> bool:
            gone = connection.execute(delete(message_subscriptions).where(_s.name == name)).rowcount
            connection.execute(delete(message_deliveries).where(_d.subscription == name))
            self._bump(connection)
            return bool(gone)

        return await self.database.write(work)

    async def subscriptions(self) -> list[Subscription]:
        def work(connection: Connection) -> list[Subscription]:
            rows = connection.execute(select(message_subscriptions).order_by(_s.name)).all()
            return [_subscription(r) for r in rows]

        return await self.database.read(work)

    # -- publishing ------------------------------------------------------------------

    async def publish(self, envelope: Envelope) -> Published:
        message = envelope.message

        def work(connection: Connection) -> Published:
            if message.dedupe_key is not None:
                first = connection.execute(
                    select(*_MESSAGE_COLUMNS).where(_m.dedupe_key == message.dedupe_key)
                ).first()
                if first is not None:
                    routed = connection.execute(
                        select(func.count()).where(_d.message_seq == first.seq)
                    ).scalar_one()
                    return Published(_message(first), False, int(routed))
            router = self._refresh(connection)
            targets = router.targets(message)
            inserted = connection.execute(
                insert(messages).values(
                    id=message.id,
                    sender=message.sender,
                    recipient=message.to,
                    topic=message.topic,
                    broadcast=message.broadcast,
                    priority=message.priority,
                    headers_json=json.dumps(message.headers, sort_keys=True),
                    body=envelope.payload,
                    compressed=message.compressed,
                    size=message.size,
                    ttl_s=message.ttl_s,
                    expires_at=message.expires_at,
                    dedupe_key=message.dedupe_key,
                    published_at=message.published_at,
                )
            ).inserted_primary_key
            assert inserted is not None
            seq = inserted[0]
            if targets:
                connection.execute(
                    insert(message_deliveries),
                    [
                        {
                            "message_seq": seq,
                            "subscription": name,
                            "priority": message.priority,
                            "state": "ready",
                            "attempts": 0,
                            "available_at": message.published_at,
                        }
                        for name in targets
                    ],
                )
            topic = message.target
            if not connection.execute(
                update(message_topics)
                .where(message_topics.c.topic == topic)
                .values(count=message_topics.c.count + 1, last_at=message.published_at)
            ).rowcount:
                connection.execute(
                    insert(message_topics).values(
                        topic=topic, count=1, last_at=message.published_at
                    )
                )
            return Published(message, True, len(targets))

        published = await self.database.write(work)
        self._published += 1
        if self._published % _PRUNE_EVERY == 0:
            await self.database.write(self._prune)
        self._wake.set()
        return published

    def _prune(self, connection: Connection) -> None:
        """Drop history past retention that no delivery still needs."""
        cutoff = time.time() - self.policy.retention_s
        needed = select(_d.message_seq)
        connection.execute(delete(messages).where(_m.published_at < cutoff, _m.seq.not_in(needed)))

    # -- delivering ------------------------------------------------------------------

    def _claim(
        self, connection: Connection, names: Sequence[str] | None, limit: int, consumer: str
    ) -> list[Delivery]:
        now = time.time()
        router = self._refresh(connection)
        query = (
            select(_d.id.label("delivery_id"), _d.attempts, _d.subscription, *_MESSAGE_COLUMNS)
            .join(messages, _m.seq == _d.message_seq)
            .where(_d.state == "ready", _d.available_at <= now)
            .order_by(_d.priority.desc(), _d.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=message_deliveries)
        )
        if names is not None:
            query = query.where(_d.subscription.in_(list(names)))
        rows = connection.execute(query).all()
        claimed: list[Delivery] = []
        dead: list[int] = []
        expired: list[int] = []
        for row in rows:
            if row.expires_at is not None and row.expires_at <= now:
                expired.append(row.delivery_id)
                continue
            if row.attempts >= self.policy.limit(router.subscriptions.get(row.subscription)):
                dead.append(row.delivery_id)
                continue
            claimed.append(
                Delivery(
                    token=f"{row.delivery_id}:{row.attempts + 1}",
                    subscription=row.subscription,
                    attempt=row.attempts + 1,
                    delivered_at=now,
                    message=_message(row),
                )
            )
        if claimed:
            connection.execute(
                update(message_deliveries)
                .where(_d.id.in_([int(c.token.split(":")[0]) for c in claimed]))
                .values(
                    attempts=_d.attempts + 1,
                    available_at=now + self.policy.visibility_s,
                    consumer=consumer,
                )
            )
        if dead:
            connection.execute(
                update(message_deliveries)
                .where(_d.id.in_(dead))
                .values(state="dead", dead_at=now, reason="max_deliveries")
            )
        if expired:
            connection.execute(delete(message_deliveries).where(_d.id.in_(expired)))
        return claimed

    async def fetch(
        self, subscriptions: Sequence[str] | None, *, limit: int, consumer: str, wait_s: float
    ) -> list[Delivery]:
        deadline = time.monotonic() + wait_s
        while True:
            self._wake.clear()
            claimed = await self.database.write(
                lambda c: self._claim(c, subscriptions, limit, consumer)
            )
            left = deadline - time.monotonic()
            if claimed or left <= 0:
                return claimed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(left, self.policy.poll_s))

    async def ack(self, deliveries: Sequence[Delivery]) -> int:
        if not deliveries:
            return 0
        pairs = [
            {"i": int(d.token.split(":")[0]), "a": int(d.token.split(":")[1])} for d in deliveries
        ]

        def work(connection: Connection) -> int:
            statement = delete(message_deliveries).where(
                _d.id == bindparam("i"), _d.attempts == bindparam("a"), _d.state == "ready"
            )
            total = 0
            for pair in pairs:  # executemany does not report rowcounts on every driver
                total += connection.execute(statement, pair).rowcount
            return total

        return await self.database.write(work)

    async def nack(self, delivery: Delivery, *, reason: str, dead: bool = False) -> None:
        row_id, attempt = (int(p) for p in delivery.token.split(":"))

        def work(connection: Connection) -> None:
            router = self._refresh(connection)
            limit = self.policy.limit(router.subscriptions.get(delivery.subscription))
            now = time.time()
            where = (_d.id == row_id, _d.attempts == attempt, _d.state == "ready")
            if dead or attempt >= limit:
                values: dict[str, Any] = {
                    "state": "dead",
                    "dead_at": now,
                    "reason": reason if dead else f"max_deliveries: {reason}",
                }
            else:
                values = {"available_at": now + self.policy.backoff(attempt), "reason": reason}
            connection.execute(update(message_deliveries).where(*where).values(**values))

        await self.database.write(work)

    # -- dead letters ----------------------------------------------------------------

    def _letters(self, connection: Connection, *conditions: Any, limit: int) -> list[DeadLetter]:
        rows = connection.execute(
            select(
                _d.id.label("delivery_id"),
                _d.subscription,
                _d.attempts,
                _d.reason,
                _d.dead_at,
                *_MESSAGE_COLUMNS,
            )
            .join(messages, _m.seq == _d.message_seq)
            .where(_d.state == "dead", *conditions)
            .order_by(_d.dead_at.desc(), _d.id.desc())
            .limit(limit)
        ).all()
        return [
            DeadLetter(
                id=str(r.delivery_id),
                subscription=r.subscription,
                attempts=r.attempts,
                reason=r.reason or "",
                dead_at=r.dead_at or 0.0,
                message=_message(r),
            )
            for r in rows
        ]

    async def dead_letters(
        self, subscription: str | None = None, *, limit: int = 100
    ) -> list[DeadLetter]:
        conditions = [] if subscription is None else [_d.subscription == subscription]
        return await self.database.read(lambda c: self._letters(c, *conditions, limit=limit))

    async def dead_letter(self, letter_id: str) -> DeadLetter:
        if not letter_id.isdigit():
            raise DeadLetterNotFound(letter_id)
        found = await self.database.read(
            lambda c: self._letters(c, _d.id == int(letter_id), limit=1)
        )
        if not found:
            raise DeadLetterNotFound(letter_id)
        return found[0]

    async def replay(self, letter_ids: Sequence[str]) -> int:
        ids = [int(i) for i in letter_ids if i.isdigit()]

        def work(connection: Connection) -> int:
            return int(
                connection.execute(
                    update(message_deliveries)
                    .where(_d.id.in_(ids), _d.state == "dead")
                    .values(
                        state="ready",
                        attempts=0,
                        available_at=time.time(),
                        reason=None,
                        dead_at=None,
                    )
                ).rowcount
            )

        replayed = await self.database.write(work)
        self._wake.set()
        return replayed

    async def purge(self, letter_ids: Sequence[str] | None = None) -> int:
        def work(connection: Connection) -> int:
            statement = delete(message_deliveries).where(_d.state == "dead")
            if letter_ids is not None:
                statement = statement.where(_d.id.in_([int(i) for i in letter_ids if i.isdigit()]))
            return int(connection.execute(statement).rowcount)

        return await self.database.write(work)

    # -- views -----------------------------------------------------------------------

    async def depths(self) -> dict[str, int]:
        def work(connection: Connection) -> dict[str, int]:
            names = connection.execute(select(_s.name)).scalars().all()
            counts: dict[str, int] = dict(
                connection.execute(
                    select(_d.subscription, func.count())
                    .where(_d.state == "ready")
                    .group_by(_d.subscription)
                ).all()
            )
            return {n: int(counts.get(n, 0)) for n in names}

        return await self.database.read(work)

    async def dead_count(self) -> int:
        return int(
            await self.database.read(
                lambda c: c.execute(select(func.count()).where(_d.state == "dead")).scalar_one()
            )
        )

    async def history(self, *, limit: int = 100, pattern: str | None = None) -> list[Message]:
        def work(connection: Connection) -> list[Message]:
            query = select(*_MESSAGE_COLUMNS).order_by(_m.seq.desc())
            if pattern is not None:
                query = query.where(_m.topic.is_not(None)).limit(max(limit * 20, 1000))
            else:
                query = query.limit(limit)
            found = [_message(r) for r in connection.execute(query).all()]
            if pattern is not None:
                found = [m for m in found if m.topic and matches(pattern, m.topic)][:limit]
            return found[::-1]

        return await self.database.read(work)

    async def topic_counts(self) -> dict[str, int]:
        def work(connection: Connection) -> dict[str, int]:
            rows = connection.execute(
                select(message_topics.c.topic, message_topics.c.count).order_by(
                    message_topics.c.topic
                )
            ).all()
            return {str(r[0]): int(r[1]) for r in rows}

        return await self.database.read(work)
