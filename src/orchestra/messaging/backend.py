"""The storage contract of the bus, the delivery policy, and routing shared by backends.

A :class:`MessageBackend` stores subscriptions, routes each published
:class:`Envelope` to the subscriptions that want it (:class:`Router`), hands
deliveries out at least once with a visibility timeout, and keeps the dead-letter
queue. Two implement it: the database one (``orchestra.store.messages``, the
default: nothing is lost on a crash) and Redis Streams with consumer groups
(:mod:`orchestra.messaging.redis_streams`). Both are tested against one suite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from orchestra.messaging.model import DeadLetter, Delivery, Message, Subscription, inbox_name
from orchestra.messaging.topics import PatternIndex


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How deliveries are retried (``[messaging]`` settings)."""

    visibility_s: float = 30.0
    max_deliveries: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    poll_s: float = 0.05
    retention_s: float = 86_400.0

    def backoff(self, attempt: int) -> float:
        """Delay before redelivering after the ``attempt``-th delivery was refused."""
        return float(min(self.backoff_max_s, self.backoff_base_s * 2.0 ** max(0, attempt - 1)))

    def limit(self, subscription: Subscription | None) -> int:
        if subscription is not None and subscription.max_deliveries is not None:
            return subscription.max_deliveries
        return self.max_deliveries


@dataclass(frozen=True, slots=True)
class Envelope:
    """A message about to be stored: the decoded message and its encoded body."""

    message: Message
    payload: bytes


@dataclass(frozen=True, slots=True)
class Published:
    """What publishing did: the stored message (the first one, for a repeated
    ``dedupe_key``), whether it was new, and how many subscriptions it went to."""

    message: Message
    created: bool
    routed: int


class Router:
    """Subscriptions → the names a message goes to (topic patterns, inboxes, filters)."""

    def __init__(self, subscriptions: Iterable[Subscription]) -> None:
        self.subscriptions = {s.name: s for s in subscriptions}
        self._index = PatternIndex(
            (pattern, s.name) for s in self.subscriptions.values() for pattern in s.patterns
        )
        self._inboxes = sorted(s.name for s in self.subscriptions.values() if s.inbox)

    def targets(self, message: Message) -> list[str]:
        if message.topic is not None:
            names: Iterable[str] = self._index.match(message.topic)
        elif message.broadcast:
            names = self._inboxes
        else:
            inbox = inbox_name(str(message.to))
            names = [inbox] if inbox in self.subscriptions else []
        return sorted(n for n in names if self.subscriptions[n].accepts(message))


class MessageBackend(Protocol):
    """Where the bus keeps messages; every method is one atomic step."""

    name: str

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...

    async def save_subscription(
        self, subscription: Subscription, *, replay_since: float | None = None
    ) -> Subscription:
        """Create or replace ``subscription``; with ``replay_since``, retained messages
        it matches published since then are delivered to it too."""
        ...

    async def delete_subscription(self, name: str) -> bool: ...

    async def subscriptions(self) -> list[Subscription]: ...

    async def publish(self, envelope: Envelope) -> Published:
        """Store and route; a ``dedupe_key`` already stored returns the first message."""
        ...

    async def fetch(
        self, subscriptions: Sequence[str] | None, *, limit: int, consumer: str, wait_s: float
    ) -> list[Delivery]:
        """Claim up to ``limit`` ready deliveries (highest priority first) of the named
        subscriptions (all when None), waiting up to ``wait_s`` for one."""
        ...

    async def ack(self, deliveries: Sequence[Delivery]) -> int: ...

    async def nack(self, delivery: Delivery, *, reason: str, dead: bool = False) -> None:
        """Refuse a delivery: redelivered after the backoff, or dead-lettered when it has
        had its deliveries or ``dead`` is set."""
        ...

    async def dead_letters(
        self, subscription: str | None = None, *, limit: int = 100
    ) -> list[DeadLetter]: ...

    async def dead_letter(self, letter_id: str) -> DeadLetter: ...

    async def replay(self, letter_ids: Sequence[str]) -> int:
        """Put dead letters back on their subscriptions with fresh attempt counts."""
        ...

    async def purge(self, letter_ids: Sequence[str] | None = None) -> int:
        """Delete the given dead letters (all when None)."""
        ...

    async def depths(self) -> dict[str, int]:
        """Subscription → deliveries not yet acknowledged (ready, in flight or waiting)."""
        ...

    async def dead_count(self) -> int: ...

    async def history(self, *, limit: int = 100, pattern: str | None = None) -> list[Message]:
        """The latest retained messages, oldest first."""
        ...

    async def topic_counts(self) -> dict[str, int]: ...
