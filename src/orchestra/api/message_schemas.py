"""Request and response bodies of the message-bus routes (``/messages``).

Requests reuse the bus's own :class:`~orchestra.messaging.MessageDraft` (one schema
for tools, CLI and API); responses are the bus's stored models as JSON.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from orchestra.messaging import DeadLetter, Message, MessageDraft
from orchestra.messaging.model import AGENT_NAME


class SendMessage(MessageDraft):
    """A draft, optionally sent *as* an agent: that agent's ``[messaging.permissions]``
    then apply (a denial answers 422 with ``details.error`` ``publish_denied``)."""

    sender: str | None = Field(
        default=None,
        pattern=AGENT_NAME,
        description="Publish as this agent; default 'operator' (never limited).",
    )

    def draft(self) -> MessageDraft:
        return MessageDraft.model_validate(self.model_dump(exclude={"sender"}))


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class SentMessage(_Out):
    created: bool = Field(description="False when an earlier message had the same dedupe_key.")
    routed: int = Field(description="How many subscriptions received it.")
    message: Message


class MessagePage(_Out):
    items: list[Message]


class TopicStats(_Out):
    topics: dict[str, int] = Field(description="Retained messages per topic (or @agent, *).")
    depths: dict[str, int] = Field(description="Unacknowledged deliveries per subscription.")
    dead_letters: int


class DeadLetterPage(_Out):
    items: list[DeadLetter]


class LetterIds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] = Field(min_length=1, max_length=1000)


class PurgeLetters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] | None = Field(
        default=None, max_length=1000, description="Dead-letter ids; omit to purge every one."
    )


class Count(_Out):
    count: int
