"""RunControl: cancel, approve and reject a run with nothing but its store.

The engine driving the run is a separate object that is never told: what the control
writes must reach it through the store (its heartbeat), as from another process.
"""

from __future__ import annotations

import asyncio

import pytest

from orchestra.engine.control import CancelOutcome, RunControl
from orchestra.engine.errors import ApprovalError, RunNotFound
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.protocols import RunStore
from orchestra.engine.scheduler import Engine, EngineSettings
from orchestra.engine.states import RunStatus, StepStatus
from tests.engine.helpers import RecordingRunner, gate, step, until, workflow

FAST = EngineSettings(retry_base_s=0.001, retry_max_s=0.002, poll_s=0.01, lease_s=3.0)


async def status_of(store: RunStore, run_id: RunId) -> RunStatus:
    return (await store.get_run(run_id)).status


async def test_cancel_of_a_run_nobody_drives_settles_it_here(store: RunStore) -> None:
    engine = Engine(store, RecordingRunner(), FAST)
    run_id = await engine.create_run(workflow(step("a"), step("b", deps=("a",))), {})
    control = RunControl(store)
    assert await control.cancel(run_id) is CancelOutcome.CANCELLED
    record = await store.get_run(run_id)
    assert record.status is RunStatus.CANCELLED
    assert {s.status for s in record.steps.values()} == {StepStatus.CANCELLED}
    assert record.owner is None  # the control released the lease it took
    events = await store.read_events(run_id)
    assert events[-1].type is EventType.RUN_FINISHED
    assert events[-1].content["status"] == "cancelled"
    assert await control.cancel(run_id) is CancelOutcome.FINISHED
    assert await engine.drive(run_id) is RunStatus.CANCELLED  # nothing runs afterwards


async def test_cancel_of_a_driven_run_is_left_for_its_driver(store: RunStore) -> None:
    released, hold = gate()
    runner = RecordingRunner({"a": hold})
    engine = Engine(store, runner, FAST)
    run_id = await engine.create_run(workflow(step("a"), step("b", deps=("a",))), {})
    drive = asyncio.create_task(engine.drive(run_id))
    await until(lambda: "a" in runner.contexts)
    assert await RunControl(store).cancel(run_id) is CancelOutcome.REQUESTED
    async with asyncio.timeout(60):  # only a hang guard: the step never finishes by itself
        assert await drive is RunStatus.CANCELLED
    record = await store.get_run(run_id)
    assert {s.status for s in record.steps.values()} == {StepStatus.CANCELLED}
    assert "b" not in runner.contexts
    released.set()


@pytest.mark.parametrize(
    ("decision", "final", "step_status"),
    [
        ("approve", RunStatus.SUCCEEDED, StepStatus.SUCCEEDED),
        ("reject", RunStatus.FAILED, StepStatus.FAILED),
    ],
)
async def test_a_decision_reaches_the_driver_through_the_store(
    store: RunStore, decision: str, final: RunStatus, step_status: StepStatus
) -> None:
    runner = RecordingRunner()
    engine = Engine(store, runner, FAST)
    run_id = await engine.create_run(
        workflow(step("draft"), step("publish", deps=("draft",), approval=True)), {}
    )
    drive = asyncio.create_task(engine.drive(run_id))
    await until(lambda: _waiting(store, run_id))
    control = RunControl(store)
    decide = control.approve if decision == "approve" else control.reject
    approval = await decide(run_id, StepId("publish"), "ana", "why not")
    assert (approval.decision, approval.decided_by, approval.reason) == (
        {"approve": "approved", "reject": "rejected"}[decision],
        "ana",
        "why not",
    )
    async with asyncio.timeout(60):
        assert await drive is final
    assert (await store.get_run(run_id)).steps[StepId("publish")].status is step_status
    with pytest.raises(ApprovalError):  # decided already: not awaiting one any more
        await control.approve(run_id, StepId("publish"), "bob")


async def test_decisions_name_the_steps_there_are(store: RunStore) -> None:
    run_id = await Engine(store, RecordingRunner(), FAST).create_run(workflow(step("a")), {})
    control = RunControl(store)
    with pytest.raises(ApprovalError, match="its steps: a"):
        await control.approve(run_id, StepId("nope"), "ana")
    with pytest.raises(RunNotFound):
        await control.cancel(RunId("no-such-run"))


async def _waiting(store: RunStore, run_id: RunId) -> bool:
    return await status_of(store, run_id) is RunStatus.WAITING
