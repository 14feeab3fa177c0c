"""A pool of llama.cpp contexts over one model file, so parallel calls decode at once.

llama-cpp-python's ``Llama.create_completion`` decodes one sequence per context,
and a context is not thread-safe, so one context serves one call at a time: two
parallel steps on the embedded model took turns. Several ``Llama`` objects over
the same GGUF can decode in parallel threads instead (the weights are mmapped;
each context adds its own KV cache and buffers, see docs/models.md). On the shared
2-core machine, two single-threaded contexts gave each sequence about five times
the speed of one two-threaded context serving them in turn
(``benchmarks/local_parallel.py``).

The pool grows on demand up to ``size``: a second context is loaded only when a
call arrives while every loaded one is busy, so a sequential workflow costs one
context's memory. A call that finds every context busy and the pool full waits
for one, and only then is its ``on_wait`` told (the queue notice). Contexts are
handed over in arrival order, across event loops and threads (a context is
returned from the worker thread that ran the call's decoding or from the loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

_Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class ContextPool:
    """Up to ``size`` contexts made by ``load``, each leased to one call at a time."""

    def __init__(self, load: Callable[[], Any], size: int) -> None:
        if size < 1:
            raise ValueError(f"a context pool needs at least one context, not {size}")
        self._load = load
        self.size = size
        self._lock = threading.Lock()
        """Guards the lists and counters below; never held while loading or decoding."""
        self._load_lock = threading.Lock()
        """One load at a time: two threads loading the same model would only compete."""
        self._contexts: list[Any] = []
        self._free: list[Any] = []
        self._waiters: deque[_Waiter] = deque()
        self._loading = 0

    @property
    def loaded(self) -> int:
        """Contexts loaded so far (at most ``size``)."""
        with self._lock:
            return len(self._contexts)

    def first(self) -> Any:
        """The first context, loaded on the first call (blocking). Used for what needs
        the model but no decoding state (tokenising); its decoding still goes through
        :meth:`lease`."""
        with self._lock:
            if self._contexts:
                return self._contexts[0]
        with self._load_lock:
            with self._lock:
                if self._contexts:
                    return self._contexts[0]
            llm = self._load()
            with self._lock:
                self._contexts.append(llm)
        self._release(llm)
        return llm

    @contextlib.asynccontextmanager
    async def lease(self, on_wait: Callable[[], Awaitable[None]]) -> AsyncIterator[Any]:
        """A context for one call; ``on_wait`` is awaited first if the call must queue
        (every context busy and the pool full)."""
        llm = await self._acquire(on_wait)
        try:
            yield llm
        finally:
            self._release(llm)

    async def _acquire(self, on_wait: Callable[[], Awaitable[None]]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        with self._lock:
            if self._free:
                return self._free.pop()
            grow = len(self._contexts) + self._loading < self.size
            if grow:
                self._loading += 1
            self._waiters.append((loop, future))
        try:
            if grow:
                # an executor thread, not a daemon: shutdown waits for a load in progress
                loop.run_in_executor(None, self._grow)
            else:
                await on_wait()
            return await future
        except BaseException:
            self._abandon(loop, future)
            raise

    def _grow(self) -> None:
        """Load one more context (worker thread) and give it to the first waiter."""
        try:
            with self._load_lock:
                llm = self._load()
        except Exception as exc:
            with self._lock:
                self._loading -= 1
                if self._contexts:  # waiters are served by the contexts there are
                    self.size = len(self._contexts)
                    failed: list[_Waiter] = []
                else:
                    failed = list(self._waiters)
                    self._waiters.clear()
            if not failed:
                log.warning(
                    "the embedded model could not load another context (%s); it serves "
                    "%d call(s) at a time",
                    exc,
                    self.size,
                )
            for loop, future in failed:
                with contextlib.suppress(RuntimeError):  # its loop has closed
                    loop.call_soon_threadsafe(_fail, future, exc)
            return
        with self._lock:
            self._loading -= 1
            self._contexts.append(llm)
        self._release(llm)

    def _release(self, llm: Any) -> None:
        """Give ``llm`` to the first waiter whose loop still runs, else back to the pool."""
        while True:
            with self._lock:
                if not self._waiters:
                    self._free.append(llm)
                    return
                loop, future = self._waiters.popleft()
            try:
                loop.call_soon_threadsafe(self._hand, future, llm)
            except RuntimeError:  # that waiter's loop has closed: try the next one
                continue
            return

    def _hand(self, future: asyncio.Future[Any], llm: Any) -> None:
        """On the waiter's loop: its context, unless it stopped waiting meanwhile."""
        if future.done():
            self._release(llm)
        else:
            future.set_result(llm)

    def _abandon(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> None:
        """A waiter gave up (cancelled, or ``on_wait`` failed): never strand a context."""
        with self._lock, contextlib.suppress(ValueError):
            self._waiters.remove((loop, future))
        if future.cancel():
            return  # a hand-over still on its way sees the cancel and passes the context on
        if not future.cancelled() and future.exception() is None:
            self._release(future.result())


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
