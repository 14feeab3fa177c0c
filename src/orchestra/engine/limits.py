"""Concurrency limits shared by every run of an engine: global, per agent, per model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
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
        self._max = max_concurrency
        self._busy: dict[tuple[str, str], int] = {}
        self.unlimited = not (max_concurrency or agent_concurrency or model_concurrency)

    def room(
        self, wanted: Sequence[tuple[str, str]], freeing: tuple[str, str] | None = None
    ) -> int:
        """How many of ``wanted`` (agent, model) pairs, in order, would get a slot at once
        (once the holder of a ``freeing`` slot let go of it). The scheduler claims steps
        ahead only when they will not queue for a slot, and :meth:`reserve` s theirs."""
        if self.unlimited:
            return len(wanted)
        busy = dict(self._busy)
        if freeing is not None:
            for key in self._keys(*freeing):
                busy[key] = busy.get(key, 0) - 1
        count = 0
        for agent, model in wanted:
            keys = self._keys(agent, model)
            if any(busy.get(key, 0) >= cap for key, cap in keys.items()):
                break
            for key in keys:
                busy[key] = busy.get(key, 0) + 1
            count += 1
        return count

    def _keys(self, agent: str, model: str) -> dict[tuple[str, str], int]:
        """The capped levels a step of ``agent`` on ``model`` takes a slot at, with caps."""
        keys: dict[tuple[str, str], int] = {}
        if self._max:
            keys[("", "")] = self._max
        agent_cap = _cap(self._agent_limit, agent)
        if agent_cap:
            keys[("agent", agent)] = agent_cap
        model_cap = _cap(self._model_limit, model)
        if model_cap:
            keys[("model", model)] = model_cap
        return keys

    def reserve(self, agent: str, model: str) -> None:
        """Count a slot as taken before the step asks for it (a claim made ahead); its
        ``slot(..., reserved=True)`` then takes it over, or :meth:`unreserve` drops it."""
        for key in self._keys(agent, model):
            self._busy[key] = self._busy.get(key, 0) + 1

    def unreserve(self, agent: str, model: str) -> None:
        for key in self._keys(agent, model):
            self._busy[key] -= 1

    @asynccontextmanager
    async def slot(self, agent: str, model: str, *, reserved: bool = False) -> AsyncIterator[None]:
        """Hold one slot at every level for the duration of a step attempt."""
        if self.unlimited:
            yield
            return
        keys = self._keys(agent, model)
        if not reserved:  # counted while waiting too: a waiter gets the next free slot
            for key in keys:
                self._busy[key] = self._busy.get(key, 0) + 1
        try:
            async with AsyncExitStack() as stack:
                if self._global is not None:
                    await stack.enter_async_context(self._global)
                for table, limit, name in (
                    (self._agents, self._agent_limit, agent),
                    (self._models, self._model_limit, model),
                ):
                    cap = _cap(limit, name)
                    if cap:
                        semaphore = table.get(name)
                        if semaphore is None:
                            semaphore = table[name] = asyncio.Semaphore(cap)
                        await stack.enter_async_context(semaphore)
                yield
        finally:
            for key in keys:
                self._busy[key] -= 1
