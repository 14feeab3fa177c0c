"""The ``messages`` channel of the WebSocket: live bus traffic for the UI and scripts.

``{"type": "subscribe", "channel": "messages", "topic": "review.#"}`` answers
``{"type": "subscribed", "channel": "messages", "topic": …}`` and then one
``{"type": "message", "message": {…}}`` per message published from now on whose
topic the pattern matches; without ``topic`` every message (direct, broadcast and
topic) is sent. It hears :meth:`MessageBus.listen`, that is the messages published
*by this server process* (REST, agents running in it, its task bridge); messages
other processes publish are in the history (``GET /api/v1/messages``), not live
here. The channel is live only: a client that needs what came before subscribes
first, then reads the history and drops the ids it already has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestra.messaging import Message, MessageBus
from orchestra.messaging.errors import InvalidTopic
from orchestra.messaging.topics import matches, pattern_words

CHANNEL = "messages"


def checked_pattern(value: object) -> str | None:
    """The subscription's pattern, None for everything; raises ValueError with the fix."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 500:
        raise ValueError("topic must be a topic pattern such as 'review.#' (at most 500 chars)")
    try:
        pattern_words(value)
    except InvalidTopic as error:
        raise ValueError(str(error)) from None
    return value


def listen_messages(
    bus: MessageBus, pattern: str | None, push: Callable[[dict[str, Any]], None]
) -> Callable[[], None]:
    """Push each message ``pattern`` matches to ``push`` (which never waits); returns
    the function that stops listening."""

    async def heard(message: Message) -> None:
        if pattern is not None and (message.topic is None or not matches(pattern, message.topic)):
            return
        push({"type": "message", "message": message.model_dump(mode="json")})

    return bus.listen(heard)
