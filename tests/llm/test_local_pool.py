"""The pool of llama.cpp contexts: how many it loads, who waits, and that no context is lost.

The pool is given a loader, so these tests hand it plain objects where the runtime hands
it llama.cpp contexts (tests/llm/test_local_parallel.py runs it on the real model).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from itertools import count
from pathlib import Path

import pytest

from orchestra.config import load_settings
from orchestra.llm.config import GatewayConfig, LocalModelConfig, available_cores
from orchestra.llm.local_pool import ContextPool


class Loader:
    """Numbered contexts; counts the loads."""

    def __init__(self, fail: bool = False) -> None:
        self.numbers = count(1)
        self.loads = 0
        self.fail = fail

    def __call__(self) -> str:
        self.loads += 1
        if self.fail:
            raise MemoryError("no room for another context")
        return f"context-{next(self.numbers)}"


class Waits:
    """The ``on_wait`` of a lease: counts the calls told to queue."""

    def __init__(self) -> None:
        self.told = 0
        self.event = asyncio.Event()

    async def __call__(self) -> None:
        self.told += 1
        self.event.set()


async def test_parallel_leases_load_a_context_each_up_to_the_size_then_queue() -> None:
    loader, waits = Loader(), Waits()
    pool = ContextPool(loader, 2)
    held: list[str] = []
    release, two_held = asyncio.Event(), asyncio.Event()

    async def call() -> None:
        async with pool.lease(waits) as context:
            held.append(context)
            if len(held) == 2:
                two_held.set()
            await release.wait()

    first, second = asyncio.create_task(call()), asyncio.create_task(call())
    await two_held.wait()
    assert sorted(held) == ["context-1", "context-2"] and waits.told == 0

    third = asyncio.create_task(call())
    await waits.event.wait()
    assert len(held) == 2  # the third waits: the pool is full
    release.set()
    await asyncio.gather(first, second, third)
    assert held[2] in {"context-1", "context-2"}  # served by a context given back
    assert loader.loads == 2 and pool.loaded == 2 and waits.told == 1


async def test_calls_one_after_another_load_one_context() -> None:
    loader, waits = Loader(), Waits()
    pool = ContextPool(loader, 4)
    for _ in range(3):
        async with pool.lease(waits) as context:
            assert context == "context-1"
    assert loader.loads == 1 and waits.told == 0


async def test_a_waiter_that_gives_up_strands_no_context() -> None:
    pool, waits = ContextPool(Loader(), 1), Waits()
    async with pool.lease(waits):
        waiter = asyncio.create_task(pool.lease(waits).__aenter__())
        await waits.event.wait()
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    async with pool.lease(waits) as context:  # the one context came back
        assert context == "context-1"
    assert waits.told == 1


async def test_a_context_given_back_from_another_thread_reaches_the_waiter() -> None:
    pool, waits = ContextPool(Loader(), 1), Waits()
    lease = pool.lease(waits)
    context = await lease.__aenter__()
    waiter = asyncio.create_task(pool.lease(waits).__aenter__())
    await waits.event.wait()
    thread = threading.Thread(target=pool._release, args=(context,))
    thread.start()
    thread.join()
    assert await waiter == "context-1"


async def test_a_first_context_that_cannot_load_fails_the_call() -> None:
    pool = ContextPool(Loader(fail=True), 2)
    with pytest.raises(MemoryError):
        async with pool.lease(Waits()):
            pass


async def test_a_second_context_that_cannot_load_leaves_the_pool_at_one() -> None:
    loader, waits = Loader(), Waits()
    pool = ContextPool(loader, 2)
    pool.first()
    loader.fail = True
    release, leased = asyncio.Event(), asyncio.Event()

    async def call() -> str:
        async with pool.lease(waits) as context:
            leased.set()
            await release.wait()
            return str(context)

    warned = threading.Event()
    handler = logging.Handler()
    handler.emit = lambda record: warned.set()  # type: ignore[method-assign]
    logging.getLogger("orchestra.llm.local_pool").addHandler(handler)
    first = asyncio.create_task(call())
    await leased.wait()
    second = asyncio.create_task(call())  # asks for a second context, which fails to load
    await asyncio.to_thread(warned.wait)  # the failed load was handled
    release.set()
    assert list(await asyncio.gather(first, second)) == ["context-1", "context-1"]
    logging.getLogger("orchestra.llm.local_pool").removeHandler(handler)
    assert pool.size == 1 and waits.told == 0


def test_the_pool_size_and_threads_follow_the_settings() -> None:
    assert LocalModelConfig(parallel=3).contexts() == 3
    assert LocalModelConfig().contexts() == min(2, available_cores())
    assert LocalModelConfig(parallel=1, n_threads=None).threads() == available_cores()
    assert LocalModelConfig(parallel=4, n_threads=3).threads() == 3
    assert LocalModelConfig(parallel=64 // 4).threads() >= 1
    with pytest.raises(ValueError, match="at least one context"):
        ContextPool(Loader(), 0)


def test_models_local_in_orchestra_toml_reaches_the_gateway(tmp_path: Path) -> None:
    project = tmp_path
    (project / "orchestra.toml").write_text(
        '[models.local]\nparallel = 3\nn_threads = 1\nmodel_path = "models/m.gguf"\n',
        encoding="utf-8",
    )
    local = GatewayConfig.from_settings(load_settings(project, env={})).local
    assert (local.parallel, local.n_threads, local.contexts()) == (3, 1, 3)
    assert local.model_path == project / "models" / "m.gguf"
    env = {"ORCHESTRA_MODELS__LOCAL__PARALLEL": "1"}
    assert GatewayConfig.from_settings(load_settings(project, env=env)).local.contexts() == 1
