"""Leases and fencing: a stale attempt cannot commit; an expired lease can be claimed."""

from __future__ import annotations

import asyncio

import pytest

from orchestra.engine.errors import LeaseLost
from orchestra.engine.events import EventType
from orchestra.engine.execution import StepExecution
from orchestra.engine.ids import idempotency_key
from orchestra.engine.protocols import StepContext, UsageTotals
from orchestra.engine.states import StepStatus
from orchestra.store.run_store import SqlRunStore
from tests.engine.helpers import RecordingRunner, gate, step, until, workflow


async def test_stale_fence_is_refused_and_expired_lease_is_reclaimable(
    store: SqlRunStore,
) -> None:
    run_id = await store.create_run(workflow(step("a")), {})
    first = await store.claim_step(run_id, "a", "worker-1", lease_s=0.05)  # type: ignore[arg-type]
    assert first is not None
    assert first.attempt == 1
    # still leased: nobody else can take it
    assert await store.claim_step(run_id, "a", "worker-2", lease_s=30) is None  # type: ignore[arg-type]
    await asyncio.sleep(0.1)
    second = await store.claim_step(run_id, "a", "worker-2", lease_s=30)  # type: ignore[arg-type]
    assert second is not None
    assert (second.attempt, second.fence) == (2, first.fence + 1)
    assert not (await store.renew_step(first, 30)).held
    with pytest.raises(LeaseLost):
        await store.finish_step(first, StepStatus.SUCCEEDED, outputs={"a_out": "stale"})
    await store.finish_step(
        second, StepStatus.SUCCEEDED, outputs={"a_out": "fresh"}, usage=UsageTotals(calls=1)
    )
    record = await store.get_run(run_id)
    assert record.steps["a"].outputs == {"a_out": "fresh"}
    attempts = await store.list_attempts(run_id)
    assert [(a.attempt, a.owner, a.status) for a in attempts] == [
        (1, "worker-1", "interrupted"),
        (2, "worker-2", "succeeded"),
    ]
    started = [e for e in await store.read_events(run_id) if e.type is EventType.STEP_STARTED]
    assert started[1].content["interrupted_attempt"] == 1


async def test_running_step_loses_its_lease_and_stops(store: SqlRunStore) -> None:
    _release, wait = gate()
    runner = RecordingRunner({"a": wait})
    execution = StepExecution(store, runner, "me", lease_s=0.06)
    run_id = await store.create_run(workflow(step("a")), {})
    task = asyncio.create_task(execution.execute(run_id, "a"))  # type: ignore[arg-type]
    await until(lambda: runner.in_flight != 0)
    # Another worker steals the step (as if our renewals had stopped reaching the store).
    record = await store.get_run(run_id)
    thief = None
    while thief is None:
        await asyncio.sleep(0.01)
        thief = await store.claim_step(run_id, "a", "thief", 30, {"me"})  # type: ignore[arg-type]
    assert thief.fence == record.steps["a"].fence + 1
    outcome = await task
    assert outcome.status is StepStatus.RUNNING  # not ours any more
    assert runner.in_flight == 0  # the runner was cancelled when the renewal failed


async def test_idempotency_key_is_stable_per_run_and_step() -> None:
    assert idempotency_key("r1", "s") == idempotency_key("r1", "s")  # type: ignore[arg-type]
    assert idempotency_key("r1", "s") != idempotency_key("r2", "s")  # type: ignore[arg-type]


async def test_tokens_are_coalesced(store: SqlRunStore) -> None:
    async def stream(ctx: StepContext) -> None:
        for _ in range(100):
            await ctx.events.emit(EventType.TOKEN, {"text": "abcdefghij"})

    runner = RecordingRunner({"a": stream})
    run_id = await store.create_run(workflow(step("a")), {})
    await StepExecution(store, runner, "me").execute(run_id, "a")  # type: ignore[arg-type]
    tokens = [e for e in await store.read_events(run_id) if e.type is EventType.TOKEN]
    assert "".join(e.content["text"] for e in tokens) == "abcdefghij" * 100
    assert len(tokens) == 4  # 1000 chars in 260-char events, remainder with the completion


async def test_tokens_after_a_stream_restart_keep_their_restart_marker(store: SqlRunStore) -> None:
    async def stream(ctx: StepContext) -> None:
        await ctx.events.emit(EventType.TOKEN, {"text": "void "})
        await ctx.events.emit(EventType.TOKEN, {"text": "text"})
        # The step runner logs the restart, then streams the new answer marked restart: n.
        await ctx.events.emit(EventType.LOG, {"level": "warning", "stream_restart": 1})
        await ctx.events.emit(EventType.TOKEN, {"text": "second ", "restart": 1})
        await ctx.events.emit(EventType.TOKEN, {"text": "answer", "restart": 1})
        # A second restart straight after tokens, with no event between: never coalesced.
        await ctx.events.emit(EventType.TOKEN, {"text": "third", "restart": 2})

    runner = RecordingRunner({"a": stream})
    run_id = await store.create_run(workflow(step("a")), {})
    await StepExecution(store, runner, "me").execute(run_id, "a")  # type: ignore[arg-type]
    tokens = [e.content for e in await store.read_events(run_id) if e.type is EventType.TOKEN]
    assert tokens == [
        {"text": "void text"},
        {"text": "second answer", "restart": 1},
        {"text": "third", "restart": 2},
    ]
