"""What enrichment, ``Remember:`` and the context tools need of a context store.

:class:`~orchestra.store.context.ContextRepository` implements it; the runtime hands it
in, so nothing here imports the store.
"""

from __future__ import annotations

from typing import Protocol

from orchestra.context.entries import ContextDraft, ContextEntry, ContextFilter, Provenance


class ContextSource(Protocol):
    async def search(
        self, query: str, where: ContextFilter = ..., *, limit: int = 10
    ) -> list[ContextEntry]: ...

    async def list(
        self, where: ContextFilter = ..., *, limit: int = 100, offset: int = 0
    ) -> list[ContextEntry]: ...

    async def add(self, draft: ContextDraft, provenance: Provenance) -> ContextEntry: ...
