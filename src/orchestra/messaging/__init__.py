"""The message bus between agents: direct, broadcast and topic messages with wildcards,
priorities, at-least-once delivery, retries with backoff and a dead-letter queue, on the
project database or on Redis Streams (docs/messaging.md)."""

from orchestra.messaging.backend import DeliveryPolicy, Envelope, MessageBackend, Published
from orchestra.messaging.bus import BodyLimits, MessageBus
from orchestra.messaging.model import (
    DeadLetter,
    Delivery,
    Message,
    MessageDraft,
    Subscription,
    inbox_name,
)
from orchestra.messaging.permissions import OPERATOR, Permissions

__all__ = [
    "OPERATOR",
    "BodyLimits",
    "DeadLetter",
    "Delivery",
    "DeliveryPolicy",
    "Envelope",
    "Message",
    "MessageBackend",
    "MessageBus",
    "MessageDraft",
    "Permissions",
    "Published",
    "Subscription",
    "inbox_name",
]
