"""Claims made ahead: a success commits together with the claims of the steps it readies."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter

from orchestra.definitions.specs import WorkflowSpec
from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.limits import Limits
from orchestra.engine.protocols import StepContext
from orchestra.engine.scheduler import Engine, EngineSettings
from orchestra.engine.states import RunStatus
from orchestra.store.run_store import SqlRunStore
from tests.engine.helpers import RecordingRunner, chain, step, until, workflow


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


def layered(width: int) -> WorkflowSpec:
    """Two layers: ``a*`` in parallel, then ``b*``, each depending on every ``a``."""
    firsts = [step(f"a{i}") for i in range(width)]
    deps = tuple(s.id for s in firsts)
    return workflow(*firsts, *(step(f"b{i}", deps=deps) for i in range(width)))


async def test_siblings_finishing_together_claim_the_next_layer_in_their_commit(
    store: SqlRunStore,
) -> None:
    # Every a* finishes in the same loop turn, so their successes share a group commit;
    # the last of them claims every b* in that commit instead of a commit of its own.
    release = asyncio.Event()

    async def held(ctx: StepContext) -> None:
        await release.wait()
        return None

    runner = RecordingRunner({f"a{i}": held for i in range(4)})
    engine = Engine(store, runner)
    run_id = await engine.create_run(layered(4), {})
    driving = asyncio.create_task(engine.drive(run_id))
    await until(lambda: runner.in_flight == 4)
    release.set()
    assert await driving is RunStatus.SUCCEEDED
    batches = transactions(await store.read_events(run_id))
    # The commit of the last a* success (SQL: the group commit of all four; in memory,
    # where every write is its own commit, the last one's).
    last_a = [b for b in batches if any(t == "step_complete" and s[0] == "a" for t, s in b)][-1]
    assert {s for t, s in last_a if t == "step_started"} == {"b0", "b1", "b2", "b3"}, batches
    attempts = await store.list_attempts(run_id)
    assert all(a.attempt == 1 and a.status == "succeeded" for a in attempts), attempts


async def test_a_sibling_that_loses_its_lease_in_the_same_commit_blocks_the_claim(
    store: SqlRunStore,
) -> None:
    # a0's lease is taken over while it runs, so its success is refused inside the same
    # group commit in which a1 (believing a0 finishing) asks to claim b0: the store
    # must see a0 is not succeeded and leave b0 alone until a0 really succeeds.
    dead_owner = f"{socket.gethostname()}:{2**22 + 12345}:gone"  # no such pid: reclaimable
    a0_waiting = asyncio.Event()
    release = asyncio.Event()
    seen_b0_inputs: list[str] = []

    async def a0(ctx: StepContext) -> dict[str, str] | None:
        if ctx.attempt == 1:
            taken = await store.claim_step(
                ctx.run_id, ctx.step_id, dead_owner, 30.0, reclaim_from=[engine.owner]
            )
            assert taken is not None
            a0_waiting.set()
            await release.wait()
        return {"a0_out": f"a0 attempt {ctx.attempt}"}

    async def a1(ctx: StepContext) -> None:
        await a0_waiting.wait()
        asyncio.get_running_loop().call_soon(release.set)  # wakes a0, then a1, in turn
        await release.wait()
        return None

    async def b0(ctx: StepContext) -> None:
        seen_b0_inputs.append(ctx.inputs["a0_out"])
        return None

    runner = RecordingRunner({"a0": a0, "a1": a1, "b0": b0})
    spec = workflow(
        step("a0"), step("a1"), step("b0", deps=("a0", "a1"), reads=("a0_out", "a1_out"))
    )
    engine = Engine(store, runner)
    run_id, status = await engine.run(spec, {})
    assert status is RunStatus.SUCCEEDED
    # b0 ran once, after a0 really succeeded (attempt 2 was the intruder's), with its output
    assert seen_b0_inputs == ["a0 attempt 3"]
    attempts = sorted((a.step_id, a.attempt, a.status) for a in await store.list_attempts(run_id))
    assert attempts == [
        ("a0", 1, "interrupted"),
        ("a0", 2, "interrupted"),
        ("a0", 3, "succeeded"),
        ("a1", 1, "succeeded"),
        ("b0", 1, "succeeded"),
    ]
    batches = transactions(await store.read_events(run_id))
    a1_done = next(b for b in batches if ("step_complete", "a1") in b)
    assert ("step_started", "b0") not in a1_done, batches
