"""Cancelling runs at many moments of wide and deep DAGs: every cancel settles the run.

Regression for a cancel that hung with wide fan-out (issue 13, point 1): step tasks
created just before the cancel was handled were cancelled before they first ran, so
they never reported an outcome and the driver waited for them for good.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from orchestra.definitions.specs import WorkflowSpec
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId
from orchestra.engine.protocols import RunStore, StepContext
from orchestra.engine.scheduler import Engine, EngineSettings
from orchestra.engine.states import RunStatus
from tests.engine.helpers import RecordingRunner, chain, step, workflow

FAST = EngineSettings(retry_base_s=0.001, retry_max_s=0.002, poll_s=0.01)
HANG_GUARD_S = 120.0
"""Only turns a hang into a failure; a healthy cancel settles in milliseconds."""


def branches_merge_tail(branches: int = 4, length: int = 5, tail: int = 3) -> WorkflowSpec:
    """The shape from the report: parallel branches of a few steps, a merge, a tail."""
    steps = []
    for b in range(branches):
        for i in range(length):
            steps.append(step(f"b{b}_{i}", deps=(f"b{b}_{i - 1}",) if i else ()))
    steps.append(step("merge", deps=tuple(f"b{b}_{length - 1}" for b in range(branches))))
    previous = "merge"
    for i in range(tail):
        steps.append(step(f"t{i}", deps=(previous,)))
        previous = f"t{i}"
    return workflow(*steps)


def fan_out_in(width: int = 16) -> WorkflowSpec:
    return workflow(
        step("root"),
        *(step(f"w{i}", deps=("root",)) for i in range(width)),
        step("join", deps=tuple(f"w{i}" for i in range(width))),
    )


SHAPES = {
    "branches": branches_merge_tail(),
    "wide": fan_out_in(),
    "deep": chain(25),
}


async def assert_settled(store: RunStore, run_id: RunId) -> RunStatus:
    record = await store.get_run(run_id)
    assert record.status.terminal, record.status
    open_steps = {sid: s.status.value for sid, s in record.steps.items() if not s.status.terminal}
    assert not open_steps, f"finished run {record.status.value} with open steps {open_steps}"
    leased = [sid for sid, s in record.steps.items() if s.lease_owner is not None]
    assert not leased, f"steps still leased in a finished run: {leased}"
    events = await store.read_events(run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    finished = [e for e in events if e.type is EventType.RUN_FINISHED]
    assert len(finished) == 1 and finished[0].content["status"] == record.status.value
    assert events[-1].type is EventType.RUN_FINISHED
    return record.status


@pytest.mark.parametrize("shape", sorted(SHAPES))
async def test_cancel_at_many_moments_settles_every_run(store: RunStore, shape: str) -> None:
    engine = Engine(store, RecordingRunner(), FAST)
    outcomes: list[RunStatus] = []
    for moment in range(0, 60, 3):  # cancel after `moment` turns of the event loop
        run_id = await engine.create_run(SHAPES[shape], {})
        drive = asyncio.create_task(engine.drive(run_id))
        for _ in range(moment):
            await asyncio.sleep(0)
        await engine.cancel(run_id)
        async with asyncio.timeout(HANG_GUARD_S):
            status = await drive
        assert status is await assert_settled(store, run_id)
        outcomes.append(status)
    assert RunStatus.CANCELLED in outcomes


async def test_cancel_while_steps_finish_in_waves(store: RunStore) -> None:
    """Cancel exactly when a layer's outcomes queue up: after the n-th step completes."""
    spec = branches_merge_tail()
    for completed in range(1, 20, 2):
        seen = asyncio.Event()
        counted: list[str] = []

        async def count(
            ctx: StepContext,
            seen: asyncio.Event = seen,
            target: int = completed,
            counted: list[str] = counted,
        ) -> None:
            counted.append(ctx.step_id)
            if len(counted) >= target:
                seen.set()

        engine = Engine(store, RecordingRunner({s.id: count for s in spec.steps}), FAST)
        run_id = await engine.create_run(spec, {})
        drive = asyncio.create_task(engine.drive(run_id))
        waiter = asyncio.create_task(seen.wait())
        await asyncio.wait([waiter, drive], return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        await engine.cancel(run_id)
        async with asyncio.timeout(HANG_GUARD_S):
            status = await drive
        assert status is await assert_settled(store, run_id)


async def test_cancel_from_another_engine_settles_the_run(store: RunStore) -> None:
    """A cancel requested by another process reaches the driver through its heartbeat."""
    engine = Engine(store, RecordingRunner(), replace(FAST, lease_s=3.0))  # heartbeat: 1 s
    other = Engine(store, RecordingRunner(), FAST)
    for moment in (0, 5, 20):
        run_id = await engine.create_run(branches_merge_tail(), {})
        drive = asyncio.create_task(engine.drive(run_id))
        for _ in range(moment):
            await asyncio.sleep(0)
        await other.cancel(run_id)
        async with asyncio.timeout(HANG_GUARD_S):
            status = await drive
        assert status is await assert_settled(store, run_id)
