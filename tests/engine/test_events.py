"""Publish/subscribe: replay from any seq, then live, with no gap and no duplicate."""

from __future__ import annotations

import asyncio

from orchestra.engine.events import EventBus, EventType, ExecutionEvent
from orchestra.engine.scheduler import Engine, EngineSettings
from orchestra.engine.states import RunStatus
from orchestra.store.run_store import SqlRunStore
from tests.engine.helpers import RecordingRunner, step, workflow


async def collect(bus: EventBus, run_id: str, after: int) -> list[ExecutionEvent]:
    return [event async for event in bus.subscribe(run_id, after)]  # type: ignore[arg-type]


async def test_subscribers_joining_at_any_time_see_every_event_once(
    store: SqlRunStore, bus: EventBus
) -> None:
    spec = workflow(
        step("root"),
        *(step(f"b{i}", deps=("root",)) for i in range(15)),
        step("join", deps=tuple(f"b{i}" for i in range(15))),
    )
    eng = Engine(store, RecordingRunner(), EngineSettings(poll_s=0.01))
    run_id = await eng.create_run(spec, {})
    early = asyncio.create_task(collect(bus, run_id, 0))
    driving = asyncio.create_task(eng.drive(run_id))
    late: list[asyncio.Task[list[ExecutionEvent]]] = []
    while not driving.done() and len(late) < 40:  # subscribers join while the run is live
        late.append(asyncio.create_task(collect(bus, run_id, 0)))
        await asyncio.sleep(0.0005)
    assert await driving is RunStatus.SUCCEEDED
    stored = await store.read_events(run_id)
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
    assert stored[-1].type is EventType.RUN_FINISHED
    for task in [early, *late]:
        assert await task == stored
    assert len(late) > 3


async def test_replay_from_a_sequence_number(store: SqlRunStore, bus: EventBus) -> None:
    eng = Engine(store, RecordingRunner())
    run_id, _ = await eng.run(workflow(step("a"), step("b", deps=("a",))), {})
    stored = await store.read_events(run_id)
    assert await collect(bus, run_id, 3) == stored[3:]


async def test_events_are_published_only_after_commit(store: SqlRunStore, bus: EventBus) -> None:
    seen: list[tuple[int, bool]] = []

    class Checker:
        def publish(self, events: object) -> None:
            for event in events:  # type: ignore[attr-defined]
                seen.append((event.seq, True))

    store.add_sink(Checker())
    run_id, _ = await Engine(store, RecordingRunner()).run(workflow(step("a")), {})
    stored = {e.seq for e in await store.read_events(run_id)}
    assert {seq for seq, _ in seen} == stored
    assert [seq for seq, _ in seen] == sorted(seq for seq, _ in seen)


async def test_concurrent_appends_get_contiguous_sequence_numbers(store: SqlRunStore) -> None:
    run_id = await store.create_run(workflow(step("a")), {})
    await asyncio.gather(
        *(
            store.append_events(
                run_id, [(EventType.LOG, None, {"i": i}), (EventType.LOG, None, {})]
            )
            for i in range(200)
        )
    )
    seqs = [e.seq for e in await store.read_events(run_id)]
    assert seqs == list(range(1, 401))
