"""Resources that live as long as a run: one exit stack per run, closed with the run.

A step that needs something costly to open — an MCP session today, a browser
next — opens it through :class:`RunResources` under a key; every later or
concurrent step of the same run that asks for the same key gets the same
object, and :meth:`RunResources.close_run` closes everything the run opened, in
reverse order, when the engine stops driving the run (the step runner is a
``RunScopedRunner``). Each run's resources are entered into one
``contextlib.AsyncExitStack``, so a resource is any async context manager and
nobody calls ``__aenter__``/``__aexit__`` by hand.

Opening is serialised per run (one lock per run), so two concurrent steps never
open the same resource twice. A resource whose opening raises is not kept: the
next step that asks tries again. Tools reach their run's resources through
``ToolContext.resources`` (a :class:`RunScope`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar, cast

log = logging.getLogger(__name__)
T = TypeVar("T")


class _Run:
    def __init__(self) -> None:
        self.stack = contextlib.AsyncExitStack()
        self.opened: dict[str, Any] = {}
        self.lock = asyncio.Lock()


class RunResources:
    """The resources of every run in flight in this process, keyed by run id."""

    def __init__(self) -> None:
        self._runs: dict[str, _Run] = {}

    async def enter(
        self, run_id: str, key: str, opener: Callable[[], AbstractAsyncContextManager[T]]
    ) -> T:
        """The run's resource ``key``, entering ``opener()`` the first time it is asked for."""
        run = self._runs.setdefault(run_id, _Run())
        async with run.lock:
            if key in run.opened:
                return cast(T, run.opened[key])
            value = await run.stack.enter_async_context(opener())
            run.opened[key] = value
            return value

    def scope(self, run_id: str) -> RunScope:
        """The view of one run's resources that its tools get."""
        return RunScope(self, run_id)

    def keys(self, run_id: str) -> list[str]:
        """The keys the run has opened (for diagnostics and tests)."""
        run = self._runs.get(run_id)
        return list(run.opened) if run is not None else []

    async def close_run(self, run_id: str) -> None:
        """Close everything ``run_id`` opened, last opened first; a no-op for unknown runs.
        An error while closing is logged, never raised: the run is over either way."""
        run = self._runs.pop(run_id, None)
        if run is None:
            return
        async with run.lock:
            run.opened.clear()
            try:
                await run.stack.aclose()
            except Exception:
                log.exception("closing the resources of run %s failed", run_id)

    async def aclose(self) -> None:
        """Close the resources of every run (a process stopping without run ends)."""
        for run_id in list(self._runs):
            await self.close_run(run_id)


class RunScope:
    """One run's resources: what a tool calls to open something kept for the whole run."""

    def __init__(self, resources: RunResources, run_id: str) -> None:
        self._resources = resources
        self.run_id = run_id

    async def enter(self, key: str, opener: Callable[[], AbstractAsyncContextManager[T]]) -> T:
        """See :meth:`RunResources.enter`."""
        return await self._resources.enter(self.run_id, key, opener)


__all__ = ["RunResources", "RunScope"]
