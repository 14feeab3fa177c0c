"""The run-end hook: a step runner holding per-run resources hears when a drive ends."""

from __future__ import annotations

import asyncio

import pytest

from orchestra.engine.errors import StepFailed
from orchestra.engine.ids import RunId
from orchestra.engine.protocols import RunScopedRunner, StepContext
from orchestra.engine.scheduler import Engine, EngineSettings
from orchestra.engine.states import RunStatus
from orchestra.store.run_store import SqlRunStore
from tests.engine.helpers import Behaviour, RecordingRunner, gate, step, until, workflow

FAST = EngineSettings(retry_base_s=0.001, retry_max_s=0.002, poll_s=0.01)


class ScopedRunner(RecordingRunner):
    """A runner with per-run resources: records each close and what it saw at that moment."""

    def __init__(
        self, behaviours: dict[str, Behaviour] | None = None, *, fail_close: bool = False
    ) -> None:
        super().__init__(behaviours)
        self.store: SqlRunStore | None = None
        self.closed: list[RunId] = []
        self.in_flight_at_close: list[int] = []
        self.owner_at_close: list[str | None] = []
        self.fail_close = fail_close

    async def close_run(self, run_id: RunId) -> None:
        self.closed.append(run_id)
        self.in_flight_at_close.append(self.in_flight)
        assert self.store is not None
        self.owner_at_close.append((await self.store.get_run(run_id)).owner)
        if self.fail_close:
            raise RuntimeError("closing the MCP session failed")


def scoped_engine(store: SqlRunStore, runner: ScopedRunner) -> Engine:
    runner.store = store
    return Engine(store, runner, FAST)


def test_the_runner_protocol_is_checkable() -> None:
    assert isinstance(ScopedRunner(), RunScopedRunner)
    assert not isinstance(RecordingRunner(), RunScopedRunner)


async def test_close_run_after_success(store: SqlRunStore) -> None:
    runner = ScopedRunner()
    eng = scoped_engine(store, runner)
    run_id, status = await eng.run(workflow(step("a"), step("b", deps=("a",))), {})
    assert status is RunStatus.SUCCEEDED
    assert runner.closed == [run_id]
    # every step had ended, and the run was still ours (released only afterwards)
    assert runner.in_flight_at_close == [0]
    assert runner.owner_at_close == [eng.owner]
    assert (await store.get_run(run_id)).owner is None


async def test_close_run_after_failure(store: SqlRunStore) -> None:
    async def broken(ctx: StepContext) -> None:
        raise StepFailed("no", retryable=False)

    runner = ScopedRunner({"a": broken})
    eng = scoped_engine(store, runner)
    run_id, status = await eng.run(workflow(step("a"), step("b", deps=("a",))), {})
    assert status is RunStatus.FAILED
    assert runner.closed == [run_id]


async def test_close_run_after_cancel(store: SqlRunStore) -> None:
    _release, wait = gate()
    runner = ScopedRunner({"a": wait, "b": wait})
    eng = scoped_engine(store, runner)
    run_id = await eng.create_run(workflow(step("a"), step("b")), {})
    task = asyncio.create_task(eng.drive(run_id))
    await until(lambda: runner.in_flight == 2)
    assert await eng.cancel(run_id)
    assert await task is RunStatus.CANCELLED
    assert runner.closed == [run_id]
    assert runner.in_flight_at_close == [0]


async def test_close_run_when_the_driving_task_is_cancelled(store: SqlRunStore) -> None:
    _release, wait = gate()
    runner = ScopedRunner({"a": wait})
    eng = scoped_engine(store, runner)
    run_id = await eng.create_run(workflow(step("a")), {})
    task = asyncio.create_task(eng.drive(run_id))
    await until(lambda: runner.in_flight == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runner.closed == [run_id]
    assert (await store.get_run(run_id)).owner is None


async def test_a_failing_close_is_logged_not_raised(
    store: SqlRunStore, caplog: pytest.LogCaptureFixture
) -> None:
    runner = ScopedRunner(fail_close=True)
    eng = scoped_engine(store, runner)
    run_id, status = await eng.run(workflow(step("a")), {})
    assert status is RunStatus.SUCCEEDED
    assert runner.closed == [run_id]
    assert "closing the MCP session failed" in caplog.text
    assert (await store.get_run(run_id)).owner is None  # the lease is released all the same


async def test_each_drive_closes_its_run(store: SqlRunStore) -> None:
    runner = ScopedRunner()
    eng = scoped_engine(store, runner)
    first, _ = await eng.run(workflow(step("a")), {})
    second, _ = await eng.run(workflow(step("a")), {})
    assert runner.closed == [first, second]
