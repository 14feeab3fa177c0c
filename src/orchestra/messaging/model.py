"""What travels on the bus: drafts, messages, subscriptions, deliveries, dead letters.

A :class:`MessageDraft` is what a sender asks for; exactly one of ``to`` (an
agent's inbox), ``topic`` (every subscription whose pattern matches) or
``broadcast`` (every agent's inbox) says where it goes. The bus validates it,
encodes the body (:mod:`orchestra.messaging.codec`) and stores a
:class:`Message`. Each subscription the message is routed to gets its own
:class:`Delivery`: at least once, until acknowledged, redelivered after the
visibility timeout, and after ``max_deliveries`` moved to the dead-letter queue
as a :class:`DeadLetter`.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator, model_validator

from orchestra.messaging.errors import InvalidMessage
from orchestra.messaging.topics import pattern_words, topic_words

INBOX_PREFIX = "inbox."
"""Every agent's inbox is the subscription named ``inbox.<agent>``."""

_FROZEN = ConfigDict(frozen=True, extra="forbid")

AGENT_NAME = r"^[A-Za-z0-9_.:-]{1,100}$"
"""What a message's ``to`` may be: its inbox ``inbox.<agent>`` must be a valid
subscription name."""


def new_message_id() -> str:
    """A time-ordered id: 13 hex digits of microseconds, then 7 random bytes."""
    return f"{time.time_ns() // 1000:013x}{os.urandom(7).hex()}"


class MessageDraft(BaseModel):
    """A message as a sender writes it (tools, CLI, REST)."""

    model_config = _FROZEN

    to: str | None = Field(
        default=None,
        pattern=AGENT_NAME,
        description="The agent whose inbox receives it (letters, digits, '_', '-', '.', ':').",
    )
    topic: str | None = Field(default=None, description="A dotted topic, e.g. review.done.")
    broadcast: bool = Field(default=False, description="Deliver to every agent's inbox.")
    priority: int = Field(default=4, ge=0, le=9, description="0 (lowest) to 9 (highest).")
    headers: dict[str, str] = Field(default_factory=dict)
    body: JsonValue = None
    ttl_s: float | None = Field(default=None, gt=0, description="Seconds before it expires.")
    dedupe_key: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("topic")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        if value is not None:
            topic_words(value)
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 64:
            raise ValueError("at most 64 headers")
        for key, item in value.items():
            if not key or len(key) > 100 or len(item) > 1000:
                raise ValueError(f"header {key!r}: names are 1-100 characters, values ≤ 1000")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> MessageDraft:
        targets = sum((self.to is not None, self.topic is not None, self.broadcast))
        if targets != 1:
            raise ValueError(
                "give exactly one of 'to' (an agent), 'topic' (dotted) or 'broadcast': true"
            )
        return self


def checked_draft(data: Mapping[str, Any] | MessageDraft) -> MessageDraft:
    """A draft from user data; schema errors become :class:`InvalidMessage`."""
    if isinstance(data, MessageDraft):
        return data
    from pydantic import ValidationError

    try:
        return MessageDraft.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "message"
        raise InvalidMessage(f"{where}: {first.get('msg', 'invalid')}") from exc


class Message(BaseModel):
    """A stored message. ``body`` is decoded; ``size`` is its encoded (maybe gzipped) size."""

    model_config = _FROZEN

    id: str
    sender: str
    to: str | None = None
    topic: str | None = None
    broadcast: bool = False
    priority: int = 4
    headers: dict[str, str] = Field(default_factory=dict)
    body: JsonValue = None
    ttl_s: float | None = None
    expires_at: float | None = None
    dedupe_key: str | None = None
    published_at: float
    size: int = 0
    compressed: bool = False

    @property
    def target(self) -> str:
        """Where it was sent, for logs and metrics: the topic, ``@agent`` or ``*``."""
        if self.topic is not None:
            return self.topic
        return f"@{self.to}" if self.to is not None else "*"

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class Subscription(BaseModel):
    """A durable queue of deliveries for one agent: topic patterns plus header filters.

    An inbox (``inbox=True``, name ``inbox.<agent>``) receives the messages sent
    ``to`` its agent and every broadcast; other subscriptions receive the topic
    messages their patterns match whose headers pass every filter (shell-style
    globs: ``{"lang": "de*"}``).
    """

    model_config = _FROZEN

    name: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:@-]+$")
    agent: str = Field(min_length=1, max_length=100)
    patterns: tuple[str, ...] = ()
    filters: dict[str, str] = Field(default_factory=dict)
    inbox: bool = False
    max_deliveries: int | None = Field(default=None, ge=1, le=1000)
    created_at: float = Field(default_factory=time.time)

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            pattern_words(pattern)
        return value

    def accepts(self, message: Message) -> bool:
        """Whether ``message``'s headers pass this subscription's filters."""
        for key, glob in self.filters.items():
            value = message.headers.get(key)
            if value is None or not fnmatch.fnmatchcase(value, glob):
                return False
        return True


def inbox_name(agent: str) -> str:
    return f"{INBOX_PREFIX}{agent}"


class Delivery(BaseModel):
    """One message handed to one subscription's consumer; ack it with its ``token``."""

    model_config = _FROZEN

    token: str
    """Backend-specific handle for ack/nack (a row id and attempt, a stream entry id)."""
    subscription: str
    attempt: int
    """1 on the first delivery, 2 on the first redelivery, …"""
    delivered_at: float
    message: Message


class DeadLetter(BaseModel):
    """A delivery that was never acknowledged in ``max_deliveries`` attempts (or was
    rejected for good): kept until replayed or purged."""

    model_config = _FROZEN

    id: str
    subscription: str
    attempts: int
    reason: str
    dead_at: float
    message: Message
