"""Concurrency limits shared by every run of an engine: global, per agent, per model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager

Cap = int | Mapping[str, int] | None
"""One cap for every name, a cap per name (names not listed are unlimited), or no cap."""


def _cap(cap: Cap, name: str) -> int | None:
    if cap is None or isinstance(cap, int):
        return cap
    return cap.get(name)


class Limits:
    """Semaphores acquired in a fixed order (global, agent, model), so they cannot deadlock.

    ``None`` means unlimited at that level.
    """

    def __init__(
        self,
        max_concurrency: int | None = None,
        agent_concurrency: Cap = None,
        model_concurrency: Cap = None,
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
            agent_cap = _cap(self._agent_limit, agent)
            if agent_cap:
                semaphore = self._agents.get(agent)
                if semaphore is None:
                    semaphore = self._agents[agent] = asyncio.Semaphore(agent_cap)
                await stack.enter_async_context(semaphore)
            model_cap = _cap(self._model_limit, model)
            if model_cap:
                semaphore = self._models.get(model)
                if semaphore is None:
                    semaphore = self._models[model] = asyncio.Semaphore(model_cap)
                await stack.enter_async_context(semaphore)
            yield
