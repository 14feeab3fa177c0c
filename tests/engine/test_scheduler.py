"""The scheduler against the real SQLite store, with a recording step runner."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from orchestra.definitions.specs import AgentSpec, InputSpec
from orchestra.engine.errors import StepFailed, WorkflowInputError
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.protocols import StepContext, StepOutcome
from orchestra.engine.scheduler import Engine, EngineSettings
from orchestra.engine.states import RunStatus, StepStatus
from orchestra.store.run_store import SqlRunStore
from tests.engine.helpers import AGENT, RecordingRunner, chain, gate, step, until, workflow

FAST = EngineSettings(retry_base_s=0.001, retry_max_s=0.002, poll_s=0.01)


def engine(store: SqlRunStore, runner: RecordingRunner, **settings: object) -> Engine:
    return Engine(store, runner, replace(FAST, **settings))  # type: ignore[arg-type]


async def statuses(store: SqlRunStore, run_id: str) -> dict[str, StepStatus]:
    record = await store.get_run(run_id)  # type: ignore[arg-type]
    return {sid: s.status for sid, s in record.steps.items()}


async def test_chain_passes_variables_and_persists_outputs(store: SqlRunStore) -> None:
    runner = RecordingRunner()
    spec = workflow(
        step("a", reads=("Topic",)),
        step("b", deps=("a",), reads=("a_out",)),
        inputs=(InputSpec(name="Topic", required=True),),
    )
    run_id, status = await engine(store, runner).run(spec, {"Topic": "owls"})
    assert status is RunStatus.SUCCEEDED
    assert runner.contexts["a"][0].instruction == "do a owls"
    assert runner.contexts["b"][0].inputs == {"a_out": "a:do a owls"}
    record = await store.get_run(run_id)
    assert record.steps["b"].outputs == {"b_out": "b:do b a:do a owls"}
    assert record.usage.calls == 2
    assert record.definition.spec == spec


async def test_parallel_branches_really_overlap(store: SqlRunStore) -> None:
    release, wait = gate()
    runner = RecordingRunner({f"p{i}": wait for i in range(5)})
    spec = workflow(*(step(f"p{i}") for i in range(5)))
    task = asyncio.create_task(engine(store, runner).run(spec, {}))
    await until(lambda: runner.in_flight == 5)  # every branch in flight at once
    release.set()
    _, status = await task
    assert status is RunStatus.SUCCEEDED
    assert runner.peak == 5
    assert [kind for kind, _ in runner.log[:5]] == ["start"] * 5


@pytest.mark.parametrize(
    ("settings", "peak"),
    [({"max_concurrency": 2}, 2), ({"agent_concurrency": 3}, 3), ({"model_concurrency": 1}, 1)],
)
async def test_concurrency_limits(store: SqlRunStore, settings: dict[str, int], peak: int) -> None:
    async def slow(ctx: StepContext) -> None:
        await asyncio.sleep(0.01)

    runner = RecordingRunner({f"p{i}": slow for i in range(6)})
    _, status = await engine(store, runner, **settings).run(
        workflow(*(step(f"p{i}") for i in range(6))), {}
    )
    assert status is RunStatus.SUCCEEDED
    assert runner.peak == peak


async def test_per_agent_limit_counts_each_agent_separately(store: SqlRunStore) -> None:
    other = AgentSpec(name="other", model="scripted/echo", system_prompt="x", path=AGENT.path)
    release, wait = gate()
    runner = RecordingRunner({"a1": wait, "a2": wait, "o1": wait})
    spec = workflow(step("a1"), step("a2"), replace_agent(step("o1"), "other"))
    spec = spec.model_copy(update={"agents": {"worker": AGENT, "other": other}})
    task = asyncio.create_task(engine(store, runner, agent_concurrency=1).run(spec, {}))
    await until(lambda: not (runner.in_flight < 2))
    await asyncio.sleep(0.02)
    assert runner.in_flight == 2  # one "worker" step and the "other" step
    release.set()
    assert (await task)[1] is RunStatus.SUCCEEDED


def replace_agent(spec_step, agent: str):  # type: ignore[no-untyped-def]
    return spec_step.model_copy(update={"agent_name": agent})


async def test_retries_then_succeeds_with_same_idempotency_key(store: SqlRunStore) -> None:
    calls = 0

    async def flaky(ctx: StepContext) -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise StepFailed("transient", retryable=True)

    runner = RecordingRunner({"a": flaky})
    run_id, status = await engine(store, runner).run(workflow(step("a", retries=2)), {})
    assert status is RunStatus.SUCCEEDED
    contexts = runner.contexts["a"]
    assert [c.attempt for c in contexts] == [1, 2, 3]
    assert len({c.idempotency_key for c in contexts}) == 1
    record = await store.get_run(run_id)
    assert record.steps["a"].attempt == 3
    errors = [e for e in await store.read_events(run_id) if e.type is EventType.ERROR]
    assert [e.content["attempt"] for e in errors] == [1, 2]
    attempts = await store.list_attempts(run_id)
    assert [a.status for a in attempts] == ["failed", "failed", "succeeded"]


async def test_retries_exhausted_fails_and_non_retryable_is_not_retried(
    store: SqlRunStore,
) -> None:
    async def broken(ctx: StepContext) -> None:
        raise StepFailed("always", retryable=ctx.step_id == "a")

    runner = RecordingRunner({"a": broken, "b": broken})
    spec = workflow(step("a", retries=1), step("b", retries=5), on_failure="continue")
    _run_id, status = await engine(store, runner).run(spec, {})
    assert status is RunStatus.FAILED
    assert len(runner.contexts["a"]) == 2
    assert len(runner.contexts["b"]) == 1


async def test_timeout_fails_the_step(store: SqlRunStore) -> None:
    async def hang(ctx: StepContext) -> None:
        await asyncio.sleep(60)

    runner = RecordingRunner({"a": hang})
    run_id, status = await engine(store, runner).run(workflow(step("a", timeout_s=0.05)), {})
    assert status is RunStatus.FAILED
    record = await store.get_run(run_id)
    assert record.steps["a"].error is not None
    assert record.steps["a"].error["type"] == "StepTimeout"


async def test_fail_fast_cancels_running_and_pending(store: SqlRunStore) -> None:
    _release, wait = gate()

    async def boom(ctx: StepContext) -> None:
        await asyncio.sleep(0.01)
        raise StepFailed("boom", retryable=False)

    runner = RecordingRunner({"slow": wait, "bad": boom})
    spec = workflow(step("slow"), step("bad"), step("after", deps=("slow",)))
    run_id, status = await engine(store, runner).run(spec, {})
    assert status is RunStatus.FAILED
    assert await statuses(store, run_id) == {
        "slow": StepStatus.CANCELLED,
        "bad": StepStatus.FAILED,
        "after": StepStatus.CANCELLED,
    }
    assert "after" not in runner.contexts


async def test_continue_runs_independent_branches(store: SqlRunStore) -> None:
    async def boom(ctx: StepContext) -> None:
        raise StepFailed("boom", retryable=False)

    runner = RecordingRunner({"bad": boom})
    spec = workflow(
        step("bad"),
        step("child", deps=("bad",)),
        step("grandchild", deps=("child",)),
        step("ok"),
        step("ok2", deps=("ok",)),
        on_failure="continue",
    )
    run_id, status = await engine(store, runner).run(spec, {})
    assert status is RunStatus.FAILED
    assert await statuses(store, run_id) == {
        "bad": StepStatus.FAILED,
        "child": StepStatus.CANCELLED,
        "grandchild": StepStatus.CANCELLED,
        "ok": StepStatus.SUCCEEDED,
        "ok2": StepStatus.SUCCEEDED,
    }


async def test_cancel_stops_in_flight_steps(store: SqlRunStore) -> None:
    _release, wait = gate()
    runner = RecordingRunner({"a": wait, "b": wait})
    eng = engine(store, runner)
    spec = workflow(step("a"), step("b"), step("c", deps=("a", "b")))
    run_id = await eng.create_run(spec, {})
    task = asyncio.create_task(eng.drive(run_id))
    await until(lambda: not (runner.in_flight < 2))
    assert await eng.cancel(run_id)
    assert await task is RunStatus.CANCELLED
    assert runner.in_flight == 0
    assert set((await statuses(store, run_id)).values()) == {StepStatus.CANCELLED}
    last = (await store.read_events(run_id))[-1]
    assert last.type is EventType.RUN_FINISHED
    assert last.content["status"] == "cancelled"


async def test_when_false_skips_step_and_steps_depending_only_on_it(store: SqlRunStore) -> None:
    runner = RecordingRunner()
    spec = workflow(
        step("check", reads=("Mode",)),
        step("deploy", deps=("check",), when='${Mode} == "prod"'),
        step("notify", deps=("deploy",), reads=("deploy_out",)),
        step("report", deps=("deploy", "check"), reads=("deploy_out", "check_out")),
        step("always", when='${Mode} == "dev"'),
        inputs=(InputSpec(name="Mode", default="dev"),),
    )
    run_id, status = await engine(store, runner).run(spec, {})
    assert status is RunStatus.SUCCEEDED
    assert await statuses(store, run_id) == {
        "check": StepStatus.SUCCEEDED,
        "deploy": StepStatus.SKIPPED,
        "notify": StepStatus.SKIPPED,
        "report": StepStatus.SUCCEEDED,
        "always": StepStatus.SUCCEEDED,
    }
    assert runner.contexts["report"][0].inputs["deploy_out"] == ""


async def test_approval_waits_then_continues(store: SqlRunStore) -> None:
    runner = RecordingRunner()
    eng = engine(store, runner)
    spec = workflow(step("draft"), step("publish", deps=("draft",), approval=True))
    run_id = await eng.create_run(spec, {})
    task = asyncio.create_task(eng.drive(run_id))
    await until(lambda: waiting(store, run_id))
    assert "publish" not in runner.contexts
    events = await store.read_events(run_id)
    assert events[-1].type is EventType.APPROVAL_REQUESTED
    await eng.decide(run_id, "publish", "approved", "ana", "looks good")  # type: ignore[arg-type]
    assert await task is RunStatus.SUCCEEDED
    approval = (await store.get_run(run_id)).approvals["publish"]
    assert (approval.decision, approval.decided_by, approval.reason) == (
        "approved",
        "ana",
        "looks good",
    )


async def test_approval_decided_by_another_engine_is_picked_up(store: SqlRunStore) -> None:
    runner = RecordingRunner()
    spec = workflow(step("publish", approval=True))
    eng = engine(store, runner)
    run_id = await eng.create_run(spec, {})
    task = asyncio.create_task(eng.drive(run_id))
    await until(lambda: waiting(store, run_id))
    other = engine(store, RecordingRunner())  # e.g. `orchestra runs reject` elsewhere
    await other.decide(run_id, "publish", "rejected", "bob", "not today")  # type: ignore[arg-type]
    assert await task is RunStatus.FAILED
    record = await store.get_run(run_id)
    assert record.steps["publish"].status is StepStatus.FAILED
    assert "publish" not in runner.contexts
    failed = [e for e in await store.read_events(run_id) if e.type is EventType.STEP_FAILED]
    error = failed[0].content["error"]
    assert (error["code"], error["message"], error["retryable"]) == (
        "rejected",
        "rejected by bob: not today",
        False,
    )
    assert (error["by"], error["reason"]) == ("bob", "not today")
    assert record.steps["publish"].error == error  # stored as data with the step


async def test_inputs_are_validated(store: SqlRunStore) -> None:
    spec = workflow(step("a"), inputs=(InputSpec(name="Need", required=True),))
    with pytest.raises(WorkflowInputError, match="-i Need=VALUE"):
        await engine(store, RecordingRunner()).create_run(spec, {})
    with pytest.raises(WorkflowInputError, match="no input"):
        await engine(store, RecordingRunner()).create_run(spec, {"Need": "x", "Extra": "y"})


async def test_events_are_contiguous_across_a_parallel_run(store: SqlRunStore) -> None:
    spec = workflow(step("root"), *(step(f"b{i}", deps=("root",)) for i in range(20)))
    run_id, status = await engine(store, RecordingRunner()).run(spec, {})
    assert status is RunStatus.SUCCEEDED
    seqs = [e.seq for e in await store.read_events(run_id)]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_long_chain(store: SqlRunStore) -> None:
    _run_id, status = await engine(store, RecordingRunner()).run(chain(30), {})
    assert status is RunStatus.SUCCEEDED


async def waiting(store: SqlRunStore, run_id: str) -> bool:
    return (await store.get_run(run_id)).status is RunStatus.WAITING  # type: ignore[arg-type]


async def test_per_name_caps(store: SqlRunStore) -> None:
    async def slow(ctx: StepContext) -> None:
        await asyncio.sleep(0.01)

    runner = RecordingRunner({f"p{i}": slow for i in range(6)})
    spec = workflow(*(step(f"p{i}") for i in range(6)))
    _, status = await engine(store, runner, model_concurrency={"scripted/echo": 2}).run(spec, {})
    assert status is RunStatus.SUCCEEDED
    assert runner.peak == 2
    runner = RecordingRunner({f"p{i}": slow for i in range(6)})
    await engine(store, runner, agent_concurrency={"someone-else": 1}).run(spec, {})
    assert runner.peak == 6


class ClaimsThenBreaks:
    """An executor whose transport breaks after the step was claimed (a worker that
    claimed it and then became unreachable): ``execute`` raises, not a StepFailed."""

    def __init__(self, store: SqlRunStore, owner: str) -> None:
        self.store = store
        self.owner = owner  # the engine's: its run opening claims the first steps ahead

    async def execute(self, run_id: RunId, step_id: StepId) -> StepOutcome:
        claim = await self.store.claim_step(run_id, step_id, "worker-x", 30.0, ["", self.owner])
        assert claim is not None
        raise ConnectionError("worker unreachable")


async def test_executor_failure_settles_the_step_as_failed_with_error_data(
    store: SqlRunStore,
) -> None:
    eng = Engine(store, RecordingRunner(), FAST, owner="engine-1")
    eng.executor = ClaimsThenBreaks(store, eng.owner)
    run_id, status = await eng.run(workflow(step("a"), step("b", deps=("a",))), {})
    assert status is RunStatus.FAILED
    record = await store.get_run(run_id)
    a = record.steps[StepId("a")]
    assert a.status is StepStatus.FAILED  # not left running inside a finished run
    assert a.lease_owner is None
    assert a.error is not None
    assert (a.error["type"], a.error["code"], a.error["retryable"]) == (
        "ExecutorFailed",
        "executor_failed",
        False,
    )
    assert "ConnectionError: worker unreachable" in a.error["message"]
    assert record.steps[StepId("b")].status is StepStatus.CANCELLED
    failed = [e for e in await store.read_events(run_id) if e.type is EventType.STEP_FAILED]
    assert failed[0].step_id == "a" and failed[0].content["error"] == a.error
