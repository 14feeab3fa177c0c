"""Concurrency limits shared by every run of an engine: global, per agent, per model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager


class Limits:
    """Semaphores acquired in a fixed order (global, agent, model), so they cannot deadlock.

    ``None`` means unlimited at that level.
    """

    def __init__(
        self,
        max_concurrency: int | None = None,
        agent_concurrency: int | None = None,
        model_concurrency: int | None = None,
    ) -> None:
        self._global = asyncio.Semaphore(max_concurrency) if max_concurrency else None
        self._agent_limit = agent_concurrency
        self._model_limit = model_concurrency
        self._agents: dict[str, asyncio.Semaphore] = {}
        self._models: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(self, agent: str, model: str) -> AsyncIterator[None]:
        """Hold one slot at every level for the duration of a step attempt."""
        async with AsyncExitStack() as stack:
            if self._global is not None:
                await stack.enter_async_context(self._global)
            if self._agent_limit:
                semaphore = self._agents.setdefault(agent, asyncio.Semaphore(self._agent_limit))
                await stack.enter_async_context(semaphore)
            if self._model_limit:
                semaphore = self._models.setdefault(model, asyncio.Semaphore(self._model_limit))
                await stack.enter_async_context(semaphore)
            yield
