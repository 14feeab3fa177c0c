"""The message bus's durable state on the project database (docs/messaging.md)."""

from orchestra.store.messages.backend import SqlMessageBackend

__all__ = ["SqlMessageBackend"]
