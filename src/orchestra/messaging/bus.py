"""The message bus: what agents, tools, the CLI and the API call.

:class:`MessageBus` validates a draft (target, topic syntax, headers), checks the
sender's permission, encodes the body (gzip above a size, refused above a limit),
stamps id and time and hands it to its backend, which routes and stores it in one
step. Consumers :meth:`~MessageBus.fetch` deliveries (waiting up to a timeout),
then :meth:`~MessageBus.ack` or :meth:`~MessageBus.nack` them; what is never
acknowledged comes back after the visibility timeout and, after
``max_deliveries``, lands in the dead-letter queue (:meth:`~MessageBus.dead_letters`,
:meth:`~MessageBus.replay`, :meth:`~MessageBus.purge`).

Live listeners (the WebSocket channel) hear every message this process publishes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestra.messaging.backend import Envelope, MessageBackend, Published
from orchestra.messaging.codec import encode_body
from orchestra.messaging.errors import SubscriptionNotFound
from orchestra.messaging.metrics import MessagingMetrics
from orchestra.messaging.model import (
    DeadLetter,
    Delivery,
    Message,
    MessageDraft,
    Subscription,
    checked_draft,
    inbox_name,
    new_message_id,
)
from orchestra.messaging.permissions import OPERATOR, Permissions

log = logging.getLogger(__name__)

Listener = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class BodyLimits:
    max_body_bytes: int = 262_144
    compress_above_bytes: int = 8192


class MessageBus:
    def __init__(
        self,
        backend: MessageBackend,
        *,
        permissions: Permissions | None = None,
        limits: BodyLimits | None = None,
        metrics: MessagingMetrics | None = None,
        consumer: str = "orchestra",
    ) -> None:
        self.backend = backend
        self.permissions = permissions or Permissions()
        self.limits = limits or BodyLimits()
        self.metrics = metrics or MessagingMetrics()
        self.consumer = consumer
        self._inboxes: set[str] = set()
        self._listeners: list[Listener] = []

    async def start(self) -> None:
        await self.backend.start()

    async def aclose(self) -> None:
        await self.backend.aclose()

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Hear every message this process publishes; returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    # -- publishing ------------------------------------------------------------------

    async def publish(
        self, draft: MessageDraft | Mapping[str, Any], *, sender: str = OPERATOR
    ) -> Published:
        """Validate, authorise, encode and store ``draft``; see :class:`Published`."""
        draft = checked_draft(draft)
        self.permissions.check_publish(sender, draft)
        payload, compressed = encode_body(
            draft.body,
            compress_above=self.limits.compress_above_bytes,
            limit=self.limits.max_body_bytes,
        )
        if draft.to is not None:
            await self.ensure_inbox(draft.to)
        now = time.time()
        message = Message(
            id=new_message_id(),
            sender=sender,
            to=draft.to,
            topic=draft.topic,
            broadcast=draft.broadcast,
            priority=draft.priority,
            headers=dict(draft.headers),
            body=draft.body,
            ttl_s=draft.ttl_s,
            expires_at=None if draft.ttl_s is None else now + draft.ttl_s,
            dedupe_key=draft.dedupe_key,
            published_at=now,
            size=len(payload),
            compressed=compressed,
        )
        published = await self.backend.publish(Envelope(message, payload))
        if published.created:
            self.metrics.published.labels(self.metrics.topic_label(message.target)).inc()
            for listener in list(self._listeners):
                try:
                    await listener(published.message)
                except Exception:  # a slow or broken viewer must not fail the sender
                    log.exception("message listener failed")
        else:
            self.metrics.deduplicated.inc()
        return published

    # -- subscriptions ---------------------------------------------------------------

    async def subscribe(
        self,
        name: str,
        *,
        agent: str,
        patterns: Sequence[str],
        filters: Mapping[str, str] | None = None,
        max_deliveries: int | None = None,
        replay_since: float | None = None,
    ) -> Subscription:
        """Create or replace the subscription ``name`` (the agent must be allowed every
        pattern); ``replay_since`` also delivers retained matching messages since then."""
        subscription = Subscription(
            name=name,
            agent=agent,
            patterns=tuple(patterns),
            filters=dict(filters or {}),
            max_deliveries=max_deliveries,
        )
        for pattern in subscription.patterns:
            self.permissions.check_subscribe(agent, pattern)
        return await self.backend.save_subscription(subscription, replay_since=replay_since)

    async def ensure_inbox(self, agent: str) -> str:
        """The name of ``agent``'s inbox, created on first use."""
        name = inbox_name(agent)
        if name not in self._inboxes:
            known = {s.name for s in await self.backend.subscriptions()}
            if name not in known:
                await self.backend.save_subscription(
                    Subscription(name=name, agent=agent, inbox=True)
                )
            self._inboxes.add(name)
        return name

    async def unsubscribe(self, name: str) -> None:
        if not await self.backend.delete_subscription(name):
            raise SubscriptionNotFound(name)
        self._inboxes.discard(name)

    async def subscriptions(self) -> list[Subscription]:
        return await self.backend.subscriptions()

    # -- consuming -------------------------------------------------------------------

    async def fetch(
        self,
        subscriptions: Sequence[str] | None = None,
        *,
        limit: int = 1,
        wait_s: float = 0.0,
        consumer: str | None = None,
    ) -> list[Delivery]:
        """Up to ``limit`` deliveries of the named subscriptions (all when None), waiting
        up to ``wait_s`` seconds for the first; acknowledge each when handled."""
        deliveries = await self.backend.fetch(
            subscriptions, limit=limit, consumer=consumer or self.consumer, wait_s=wait_s
        )
        for delivery in deliveries:
            self.metrics.delivered.labels(delivery.subscription).inc()
            if delivery.attempt > 1:
                self.metrics.redelivered.labels(delivery.subscription).inc()
            else:
                age = delivery.delivered_at - delivery.message.published_at
                self.metrics.latency.observe(max(0.0, age))
        return deliveries

    async def ack(self, deliveries: Delivery | Sequence[Delivery]) -> int:
        batch = [deliveries] if isinstance(deliveries, Delivery) else list(deliveries)
        acked = await self.backend.ack(batch)
        self.metrics.acked.inc(acked)
        return acked

    async def nack(self, delivery: Delivery, *, reason: str = "", dead: bool = False) -> None:
        """Refuse ``delivery``: it comes back after the backoff, or goes to the dead-letter
        queue when it has had ``max_deliveries`` (or ``dead`` is set)."""
        await self.backend.nack(delivery, reason=reason or "refused", dead=dead)
        if dead:
            self.metrics.dead_lettered.inc()

    # -- dead letters and views ------------------------------------------------------

    async def dead_letters(
        self, subscription: str | None = None, *, limit: int = 100
    ) -> list[DeadLetter]:
        return await self.backend.dead_letters(subscription, limit=limit)

    async def dead_letter(self, letter_id: str) -> DeadLetter:
        return await self.backend.dead_letter(letter_id)

    async def replay(self, letter_ids: Sequence[str]) -> int:
        return await self.backend.replay(letter_ids)

    async def purge(self, letter_ids: Sequence[str] | None = None) -> int:
        return await self.backend.purge(letter_ids)

    async def depths(self) -> dict[str, int]:
        return await self.backend.depths()

    async def history(self, *, limit: int = 100, pattern: str | None = None) -> list[Message]:
        return await self.backend.history(limit=limit, pattern=pattern)

    async def topic_counts(self) -> dict[str, int]:
        return await self.backend.topic_counts()

    async def refresh_metrics(self) -> None:
        """Read queue depths and dead letters from the backend into the gauges."""
        for name, depth in (await self.backend.depths()).items():
            self.metrics.depth.labels(name).set(depth)
        self.metrics.dead.set(await self.backend.dead_count())
