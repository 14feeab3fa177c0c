"""Errors of the message bus.

Tree::

    MessagingError
    ├── InvalidTopic           user mistake: a topic or pattern that breaks the dotted syntax
    ├── InvalidMessage         user mistake: no target, two targets, bad priority, bad header
    ├── MessageTooLarge        user mistake: the encoded body is over ``[messaging] max_body_bytes``
    ├── PublishDenied          user mistake (API: 422, details.error publish_denied)
    ├── SubscribeDenied        user mistake (API: 422, details.error subscribe_denied)
    ├── SubscriptionNotFound   not found: no subscription with that name
    ├── DeadLetterNotFound     not found: no dead letter with that id
    └── BackendUnavailable     runtime failure (retryable): Redis or the database did not answer
"""

from __future__ import annotations

from orchestra.errors import NotFoundMistake, OrchestraError, RuntimeFailure, UserMistake


class MessagingError(OrchestraError):
    """Base of every message-bus error."""


class InvalidTopic(MessagingError, UserMistake):
    code = "invalid_topic"

    def __init__(self, value: str, reason: str) -> None:
        super().__init__(
            f"{value!r} is not a valid topic: {reason}; write dotted words such as "
            "'research.results.berlin' (patterns may use '*' for one word, '#' for any number)"
        )
        self.value = value


class InvalidMessage(MessagingError, UserMistake):
    code = "invalid_message"


class MessageTooLarge(MessagingError, UserMistake):
    code = "message_too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"message body is {size} bytes after compression, over the limit of {limit}; "
            "send a smaller body (store large data in the workspace and send its path) or "
            "raise [messaging] max_body_bytes"
        )
        self.size = size
        self.limit = limit


class PublishDenied(MessagingError, UserMistake):
    code = "publish_denied"

    def __init__(self, agent: str, target: str) -> None:
        super().__init__(
            f"agent {agent!r} may not publish to {target!r}; allow it in "
            f"[messaging.permissions.{agent}] publish = [...] in orchestra.toml"
        )
        self.agent = agent
        self.target = target


class SubscribeDenied(MessagingError, UserMistake):
    code = "subscribe_denied"

    def __init__(self, agent: str, pattern: str) -> None:
        super().__init__(
            f"agent {agent!r} may not subscribe to {pattern!r}; allow it in "
            f"[messaging.permissions.{agent}] subscribe = [...] in orchestra.toml"
        )
        self.agent = agent
        self.pattern = pattern


class SubscriptionNotFound(MessagingError, NotFoundMistake):
    code = "subscription_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(
            f"no subscription named {name!r}; list them with `orchestra messages subscriptions`"
        )
        self.name = name


class DeadLetterNotFound(MessagingError, NotFoundMistake):
    code = "dead_letter_not_found"

    def __init__(self, letter_id: str) -> None:
        super().__init__(
            f"no dead letter with id {letter_id!r}; list them with `orchestra messages dlq list`"
        )
        self.letter_id = letter_id


class BackendUnavailable(MessagingError, RuntimeFailure):
    code = "messaging_unavailable"
    retryable = True
