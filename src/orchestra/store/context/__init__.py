"""The context store's durable state: entries with provenance and a full-text index."""

from orchestra.store.context.entries import ContextRepository

__all__ = ["ContextRepository"]
