"""Claims made ahead: a success commits together with the claims of the steps it readies."""

from __future__ import annotations

from collections import Counter

from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.limits import Limits
from orchestra.engine.scheduler import Engine, EngineSettings
from orchestra.engine.states import RunStatus
from orchestra.store.run_store import SqlRunStore
from tests.engine.helpers import RecordingRunner, chain, step, workflow


def transactions(events: list[ExecutionEvent]) -> list[list[tuple[str, str | None]]]:
    """Events grouped by commit: one batch shares one timestamp."""
    groups: dict[float, list[tuple[str, str | None]]] = {}
    for event in events:
        groups.setdefault(event.timestamp, []).append((event.type.value, event.step_id))
    return list(groups.values())


async def test_a_success_and_the_next_claim_share_one_commit(store: SqlRunStore) -> None:
    runner = RecordingRunner()
    run_id, status = await Engine(store, runner).run(chain(3), {})
    assert status is RunStatus.SUCCEEDED
    batches = transactions(await store.read_events(run_id))
    for before, after in (("s0", "s1"), ("s1", "s2")):
        assert any(
            ("step_complete", before) in batch and ("step_started", after) in batch
            for batch in batches
        ), batches
    attempts = await store.list_attempts(run_id)
    assert sorted((a.step_id, a.attempt, a.status) for a in attempts) == [
        ("s0", 1, "succeeded"),
        ("s1", 1, "succeeded"),
        ("s2", 1, "succeeded"),
    ]


async def test_steps_that_would_wait_for_a_slot_are_not_claimed_ahead(
    store: SqlRunStore,
) -> None:
    runner = RecordingRunner()
    spec = workflow(step("root"), *(step(f"b{i}", deps=("root",)) for i in range(3)))
    engine = Engine(store, runner, EngineSettings(max_concurrency=1))
    run_id, status = await engine.run(spec, {})
    assert status is RunStatus.SUCCEEDED
    assert runner.peak == 1
    events = await store.read_events(run_id)
    root_done = next(e for e in events if e.type is EventType.STEP_COMPLETE)
    with_root = [
        e.step_id
        for e in events
        if e.type is EventType.STEP_STARTED and e.timestamp == root_done.timestamp
    ]
    assert len(with_root) == 1  # the one slot root frees; the others claimed as slots free
    assert Counter(e.step_id for e in events if e.type is EventType.STEP_STARTED) == {
        "root": 1,
        "b0": 1,
        "b1": 1,
        "b2": 1,
    }


async def test_conditions_and_approvals_are_never_claimed_ahead(store: SqlRunStore) -> None:
    runner = RecordingRunner()
    spec = workflow(
        step("a"),
        step("maybe", deps=("a",), reads=("a_out",), when='${a_out} == "nothing"'),
        step("after", deps=("a",)),
    )
    run_id, status = await Engine(store, runner).run(spec, {})
    assert status is RunStatus.SUCCEEDED
    record = await store.get_run(run_id)
    assert record.steps["maybe"].status.value == "skipped"
    assert record.steps["maybe"].attempt == 0
    assert record.steps["after"].attempt == 1


async def test_room_counts_free_slots_per_level() -> None:
    unlimited = Limits()
    assert unlimited.room([("a", "m")] * 5, ("a", "m")) == 5
    limits = Limits(max_concurrency=4, agent_concurrency={"a": 2})
    async with limits.slot("b", "m"):  # the finishing step holds the slot it frees
        assert limits.room([("a", "m")] * 5, ("b", "m")) == 2  # the agent cap binds
        assert limits.room([("b", "m")] * 5, ("b", "m")) == 4  # the global cap binds
        async with limits.slot("a", "m"), limits.slot("c", "m"):
            assert limits.room([("a", "m")] * 3, ("b", "m")) == 1
            assert limits.room([("c", "m")] * 3, ("b", "m")) == 2
