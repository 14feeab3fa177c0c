"""Detach: stop driving a run without ending it; another engine resumes it at once."""

from __future__ import annotations

import asyncio

from orchestra.engine.events import EventType
from orchestra.engine.scheduler import Engine, EngineSettings
from orchestra.engine.states import RunStatus, StepStatus
from orchestra.store.run_store import SqlRunStore
from tests.engine.helpers import RecordingRunner, gate, step, until, workflow
from tests.engine.test_close_run import ScopedRunner

FAST = EngineSettings(retry_base_s=0.001, retry_max_s=0.002, poll_s=0.01)
SPEC = workflow(
    step("a"),
    step("b", deps=("a",), reads=("a_out",)),
    step("c", deps=("b",), reads=("b_out",)),
)


async def test_detach_leaves_the_run_resumable_at_once(store: SqlRunStore) -> None:
    _release, wait = gate()
    first = ScopedRunner({"b": wait})
    first.store = store
    engine = Engine(store, first, FAST)
    run_id = await engine.create_run(SPEC, {})
    task = asyncio.create_task(engine.drive(run_id))
    await until(lambda: first.in_flight == 1 and first.contexts.get("b") is not None)
    assert engine.detach(run_id, "shutting down")
    assert await task is RunStatus.RUNNING
    assert ("finish", "b") in first.log  # the attempt was stopped
    assert first.closed == [run_id]  # the run-end hook ran for a detach too

    record = await store.get_run(run_id)
    assert record.status is RunStatus.RUNNING
    assert record.owner is None
    b = record.steps["b"]
    assert (b.status, b.attempt, b.lease_owner) == (StepStatus.RUNNING, 1, None)
    assert record.steps["a"].status is StepStatus.SUCCEEDED
    assert record.steps["c"].status is StepStatus.PENDING
    attempts = {(a.step_id, a.attempt): a.status for a in await store.list_attempts(run_id)}
    assert attempts[("b", 1)] == "interrupted"
    events = await store.read_events(run_id)
    assert not [e for e in events if e.type is EventType.STEP_FAILED]  # nothing cancelled
    last = events[-1]
    assert (last.type, last.content["detached"]) == (EventType.LOG, True)
    assert last.content["interrupted_steps"] == ["b"]

    # Another owner in a live process: only released leases let it in without waiting.
    second = RecordingRunner()
    resumed = Engine(store, second, FAST)
    assert await resumed.drive(run_id) is RunStatus.SUCCEEDED
    assert [sid for kind, sid in second.log if kind == "start"] == ["b", "c"]  # not a
    final = await store.get_run(run_id)
    assert final.steps["a"].attempt == 1
    assert final.steps["b"].attempt == 2
    events = await store.read_events(run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    restarted = [e for e in events if e.type is EventType.STEP_STARTED and e.step_id == "b"]
    assert restarted[-1].content["interrupted_attempt"] == 1


async def test_detach_all_also_detaches_drives_that_start_later(store: SqlRunStore) -> None:
    _release, wait = gate()
    runner = RecordingRunner({"a": wait})
    engine = Engine(store, runner, FAST)
    running = await engine.create_run(workflow(step("a")), {})
    task = asyncio.create_task(engine.drive(running))
    await until(lambda: runner.in_flight == 1)
    later = await engine.create_run(workflow(step("a")), {})
    assert engine.detach_all("stopping") == [running]
    assert await task is RunStatus.RUNNING
    assert await engine.drive(later) is RunStatus.RUNNING
    for run_id in (running, later):
        record = await store.get_run(run_id)
        assert (record.status, record.owner) == (RunStatus.RUNNING, None)
    other = Engine(store, RecordingRunner(), FAST)
    assert await other.drive(running) is RunStatus.SUCCEEDED
    assert await other.drive(later) is RunStatus.SUCCEEDED


async def test_detach_while_waiting_for_approval(store: SqlRunStore) -> None:
    engine = Engine(store, RecordingRunner(), FAST)
    run_id = await engine.create_run(workflow(step("a"), step("b", deps=("a",), approval=True)), {})
    task = asyncio.create_task(engine.drive(run_id))

    async def waiting() -> bool:
        return (await store.get_run(run_id)).status is RunStatus.WAITING

    await until(waiting)
    assert engine.detach(run_id, "stopping")
    assert await task is RunStatus.WAITING
    assert (await store.get_run(run_id)).owner is None
    other = Engine(store, RecordingRunner(), FAST)
    await other.decide(run_id, "b", "approved", "ana")  # type: ignore[arg-type]
    assert await other.drive(run_id) is RunStatus.SUCCEEDED


async def test_detach_of_a_run_not_driven_here(store: SqlRunStore) -> None:
    engine = Engine(store, RecordingRunner(), FAST)
    run_id = await engine.create_run(workflow(step("a")), {})
    assert not engine.detach(run_id, "nothing to do")
