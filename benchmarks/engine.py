"""Engine benchmarks: print figures, assert nothing.

    uv run python benchmarks/engine.py            # all
    uv run python benchmarks/engine.py chain      # one

Durable SQLite (a file, WAL, synchronous=NORMAL, every transition committed
before its event is published). Steps use a step runner that answers at once
(engine overhead) or after ``asyncio.sleep(0.05)`` (a 50 ms model call); the
last figure runs the real GatewayStepRunner with ``scripted/instant`` to show
what LiteLLM adds per call.
"""

from __future__ import annotations

import asyncio
import gc
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from orchestra.definitions.specs import AgentSpec, StepSpec, WorkflowSpec
from orchestra.engine.events import EventType
from orchestra.engine.protocols import StepContext, StepResult, StepRunner, UsageTotals
from orchestra.engine.scheduler import Engine, EngineSettings
from orchestra.engine.states import RunStatus
from orchestra.store.database import connect
from orchestra.store.group_commit import INSERT_EVENT, LAST_SEQ
from orchestra.store.prepared import Prepared
from orchestra.store.run_store import SqlRunStore
from orchestra.store.runs.statements import (
    CLAIM,
    CLAIM_RUN,
    FINISH,
    FINISH_ATTEMPT,
    INSERT_ATTEMPT,
    READ_APPROVALS,
    READ_RUN,
    READ_STEPS,
    set_status,
)

AGENT = AgentSpec(name="w", model="scripted/instant", system_prompt="x", path=Path("w.md"))
SETTINGS = EngineSettings(max_concurrency=None)


class Instant:
    async def run_step(self, ctx: StepContext) -> StepResult:
        await ctx.events.emit(EventType.AGENT_THOUGHT, {"text": "ok"})
        return StepResult(
            {name: "ok" for name in ctx.output_vars},
            UsageTotals(prompt_tokens=1, completion_tokens=1, calls=1),
        )


class Sleepy:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def run_step(self, ctx: StepContext) -> StepResult:
        await asyncio.sleep(self.seconds)
        await ctx.events.emit(EventType.AGENT_THOUGHT, {"text": "ok"})
        return StepResult(
            {name: "ok" for name in ctx.output_vars},
            UsageTotals(prompt_tokens=1, completion_tokens=1, calls=1),
        )


def step(sid: str, deps: tuple[str, ...] = ()) -> StepSpec:
    reads = tuple(f"{d}_out" for d in deps)
    return StepSpec(
        id=sid,
        agent_name="w",
        instruction=f"{sid} " + " ".join(f"${{{r}}}" for r in reads),
        input_vars=reads,
        output_vars=(f"{sid}_out",),
        dependencies=deps,
    )


def spec(steps: list[StepSpec]) -> WorkflowSpec:
    return WorkflowSpec(
        name="bench", steps=tuple(steps), agents={"w": AGENT}, path=Path("bench.md")
    )


def chain(n: int) -> WorkflowSpec:
    return spec([step("s0")] + [step(f"s{i}", (f"s{i - 1}",)) for i in range(1, n)])


def fan(n: int) -> WorkflowSpec:
    branches = [step(f"b{i}", ("root",)) for i in range(n)]
    return spec([step("root"), *branches, step("join", tuple(b.id for b in branches))])


def layers(depth: int, width: int) -> WorkflowSpec:
    steps = [step(f"l0_{j}") for j in range(width)]
    for i in range(1, depth):
        previous = tuple(f"l{i - 1}_{j}" for j in range(width))
        steps += [step(f"l{i}_{j}", previous) for j in range(width)]
    return spec(steps)


Bench = Callable[[Engine], Awaitable[str]]


async def with_engine(runner: StepRunner, bench: Bench) -> str:
    with tempfile.TemporaryDirectory() as folder:
        database = await connect(f"sqlite+aiosqlite:///{folder}/orchestra.db")
        try:
            async with SqlRunStore(database) as store:
                return await bench(Engine(store, runner, SETTINGS))
        finally:
            await database.aclose()


async def timed_runs(engine: Engine, workflow: WorkflowSpec, count: int) -> float:
    run_ids = [await engine.create_run(workflow, {}) for _ in range(count)]
    gc.collect()
    started = time.perf_counter()
    statuses = await asyncio.gather(*(engine.drive(r) for r in run_ids))
    elapsed = time.perf_counter() - started
    assert all(s is RunStatus.SUCCEEDED for s in statuses), statuses
    return elapsed


REPEAT = 5
"""Each figure is timed this many times; best and median are printed (the machine is
usually shared, so the median says how noisy it was)."""


async def repeated(engine: Engine, workflow: WorkflowSpec, count: int) -> tuple[float, float]:
    times = [await timed_runs(engine, workflow, count) for _ in range(REPEAT)]
    return min(times), statistics.median(times)


async def bench_chain(engine: Engine) -> str:
    await timed_runs(engine, chain(20), 1)  # warm up
    best, median = await repeated(engine, chain(200), 1)
    return (
        f"200-step chain: {best * 1e6 / 200:.0f} µs/step, median {median * 1e6 / 200:.0f} "
        "(target ≤ 250)"
    )


async def bench_fan(engine: Engine) -> str:
    await timed_runs(engine, fan(10), 1)
    best, median = await repeated(engine, fan(100), 1)
    return (
        f"fan-out 100 + join: {best * 1e6 / 102:.0f} µs/step, median {median * 1e6 / 102:.0f} "
        "(target ≤ 150)"
    )


async def bench_concurrent(engine: Engine) -> str:
    # Once per process, on a fresh database (run the script a few times): repeating
    # in one store would time a database five times the size by the last round.
    elapsed = await timed_runs(engine, chain(5), 200)
    return (
        f"200 concurrent runs × 5-step chain, 50 ms calls: {elapsed:.3f} s "
        f"= {elapsed / 0.25:.3f} × ideal 0.25 s (target ≤ 1.05)"
    )


async def bench_layers(engine: Engine) -> str:
    elapsed = await timed_runs(engine, layers(10, 10), 1)
    return (
        f"10 layers × 10 parallel, 50 ms calls: {elapsed:.3f} s "
        f"= {elapsed / 0.5:.3f} × ideal 0.5 s (target ≤ 1.05)"
    )


async def bench_memory(engine: Engine) -> str:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    elapsed = await timed_runs(engine, chain(5), 2000)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (
        f"2,000 concurrent 5-step runs (50 ms calls): peak RSS {after / 1024:.0f} MiB "
        f"(+{(after - before) / 1024:.0f} MiB over the process before), {elapsed:.2f} s"
    )


async def bench_gateway(engine: Engine) -> str:
    await timed_runs(engine, chain(10), 1)
    elapsed = await timed_runs(engine, chain(100), 1)
    return (
        f"100-step chain through GatewayStepRunner + scripted/instant (LiteLLM Router): "
        f"{elapsed * 1e6 / 100:.0f} µs/step"
    )


async def bare_asyncio_runs(runs: int, steps: int, *, task_per_step: bool = True) -> float:
    """The wall time of ``runs`` chains of ``steps`` 50 ms sleeps (each in a task of its
    own, or awaited directly), with no engine and no database: what the event loop
    alone adds to the ideal."""

    async def one_run() -> None:
        for _ in range(steps):
            if task_per_step:
                await asyncio.create_task(asyncio.sleep(0.05))
            else:
                await asyncio.sleep(0.05)

    started = time.perf_counter()
    await asyncio.gather(*(one_run() for _ in range(runs)))
    return time.perf_counter() - started


async def bare_asyncio_layers(depth: int, width: int) -> float:
    started = time.perf_counter()
    for _ in range(depth):
        await asyncio.gather(*(asyncio.create_task(asyncio.sleep(0.05)) for _ in range(width)))
    return time.perf_counter() - started


class _Plain:
    """One of the store's prepared statements, run through plain ``sqlite3``."""

    def __init__(self, prepared: Prepared) -> None:
        compiled = prepared.statement.compile(dialect=sqlite_dialect())  # type: ignore[attr-defined]
        self.sql = compiled.string
        self.order = tuple(compiled.positiontup or ())
        self.defaults = dict(compiled.params)

    def args(self, values: dict[str, Any]) -> list[Any]:
        return [values[k] if k in values else self.defaults[k] for k in self.order]


async def raw_sql_chain(steps: int) -> float:
    """Seconds per chain step for the store's own statements of one step transition
    (finish the step and its attempt, claim the next, insert its attempt, number and
    insert three events, commit) run through plain ``sqlite3`` on Orchestra's schema
    with no engine around them: the durable floor of a step on this machine."""
    with tempfile.TemporaryDirectory() as folder:
        database = await connect(f"sqlite:///{folder}/orchestra.db")
        async with SqlRunStore(database) as store:
            run_id = await store.create_run(chain(steps + 1), {})
        await database.aclose()
        connection = sqlite3.connect(f"{folder}/orchestra.db", isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            connection.execute(f"PRAGMA {pragma}")
        cursor = connection.cursor()
        finish, finish_attempt = _Plain(FINISH), _Plain(FINISH_ATTEMPT)
        claim, insert_attempt = _Plain(CLAIM), _Plain(INSERT_ATTEMPT)
        last_seq, insert_event = _Plain(LAST_SEQ), _Plain(INSERT_EVENT)

        def claim_step(sid: str, now: float) -> None:
            claiming = {"rid": run_id, "sid": sid, "now": now, "reclaim": "", "owner": "me"}
            cursor.execute(claim.sql, claim.args(claiming | {"expires": now + 30}))
            attempt, fence = cursor.fetchone()
            row = {"run_id": run_id, "step_id": sid, "attempt": attempt, "fence": fence}
            row |= {"owner": "me", "status": "running", "started_at": now}
            cursor.execute(insert_attempt.sql, insert_attempt.args(row))

        cursor.execute("BEGIN IMMEDIATE")
        claim_step("s0", time.time())
        cursor.execute("COMMIT")
        started = time.perf_counter()
        for index in range(steps):
            now = time.time()
            sid, following = f"s{index}", f"s{index + 1}"
            cursor.execute("BEGIN IMMEDIATE")
            done = {"rid": run_id, "sid": sid, "fence": 1, "status": "succeeded", "now": now}
            done |= {"usage": '{"calls":1}', "error": None, "attempt": 1, "finished": now}
            cursor.execute(finish.sql, finish.args(done | {"outputs": '{"out":"ok"}'}))
            cursor.execute(finish_attempt.sql, finish_attempt.args(done))
            claim_step(following, now)
            (last,) = cursor.execute(last_seq.sql, last_seq.args({"rid": run_id})).fetchone()
            seq = (last or 0) + 1
            events = [
                (seq, "agent_thought", sid, '{"text":"ok"}'),
                (seq + 1, "step_complete", sid, '{"status":"succeeded","attempt":1}'),
                (seq + 2, "step_started", following, '{"attempt":1,"agent":"w"}'),
            ]
            cursor.executemany(
                insert_event.sql,
                [
                    insert_event.args(
                        {"run_id": run_id, "seq": n, "type": t, "step_id": s, "ts": now}
                        | {"content_json": content}
                    )
                    for n, t, s, content in events
                ],
            )
            cursor.execute("COMMIT")
        elapsed = time.perf_counter() - started
        connection.close()
        return elapsed / steps


async def raw_sql_run_starts(count: int) -> float:
    """Seconds to start ``count`` queued runs in one transaction through plain ``sqlite3``
    with the store's own statements (read the run, its steps and approvals, take its
    lease, move it to running, claim its first step, number and insert two events):
    the SQL every one of 200 concurrent runs waits for before its first model call."""
    with tempfile.TemporaryDirectory() as folder:
        database = await connect(f"sqlite:///{folder}/orchestra.db")
        async with SqlRunStore(database) as store:
            run_ids = [await store.create_run(chain(5), {}) for _ in range(count)]
        await database.aclose()
        connection = sqlite3.connect(f"{folder}/orchestra.db", isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            connection.execute(f"PRAGMA {pragma}")
        cursor = connection.cursor()
        reads = [_Plain(READ_RUN), _Plain(READ_STEPS), _Plain(READ_APPROVALS)]
        lease, running = _Plain(CLAIM_RUN), _Plain(set_status(RunStatus.RUNNING, False))
        claim, insert_attempt = _Plain(CLAIM), _Plain(INSERT_ATTEMPT)
        last_seq, insert_event = _Plain(LAST_SEQ), _Plain(INSERT_EVENT)
        started = time.perf_counter()
        cursor.execute("BEGIN IMMEDIATE")
        now = time.time()
        for run_id in run_ids:
            for read in reads:
                cursor.execute(read.sql, read.args({"rid": run_id})).fetchall()
            owner = {"rid": run_id, "owner": "me", "now": now, "reclaim": ""}
            cursor.execute(lease.sql, lease.args(owner | {"expires": now + 30}))
            cursor.execute(running.sql, running.args({"rid": run_id, "now": now}))
            claiming = owner | {"sid": "s0", "expires": now + 30}
            cursor.execute(claim.sql, claim.args(claiming))
            attempt, fence = cursor.fetchone()
            row = {"run_id": run_id, "step_id": "s0", "attempt": attempt, "fence": fence}
            row |= {"owner": "me", "status": "running", "started_at": now}
            cursor.execute(insert_attempt.sql, insert_attempt.args(row))
            (last,) = cursor.execute(last_seq.sql, last_seq.args({"rid": run_id})).fetchone()
            seq = (last or 0) + 1
            cursor.executemany(
                insert_event.sql,
                [
                    insert_event.args(
                        {"run_id": run_id, "seq": n, "type": t, "step_id": s, "ts": now}
                        | {"content_json": content}
                    )
                    for n, t, s, content in (
                        (seq, "run_started", None, '{"workflow":"bench","inputs":{}}'),
                        (seq + 1, "step_started", "s0", '{"attempt":1,"agent":"w"}'),
                    )
                ],
            )
        cursor.execute("COMMIT")
        elapsed = time.perf_counter() - started
        connection.close()
        return elapsed


async def bench_floor(engine: Engine) -> str:
    """What the machine allows before any engine code runs (see docs/engine.md)."""
    concurrent = await bare_asyncio_runs(200, 5)
    no_tasks = await bare_asyncio_runs(200, 5, task_per_step=False)
    layered = await bare_asyncio_layers(10, 10)
    per_step = min([await raw_sql_chain(200) for _ in range(REPEAT)])
    starts = min([await raw_sql_run_starts(200) for _ in range(REPEAT)])
    return (
        f"floor, bare asyncio (no engine, no database): 200 runs × 5 tasks of 50 ms "
        f"{concurrent:.3f} s = {concurrent / 0.25:.3f} × ideal (sleeps awaited directly, "
        f"no task per step: {no_tasks / 0.25:.3f} ×); 10 layers × 10 tasks "
        f"{layered:.3f} s = {layered / 0.5:.3f} × ideal\n"
        f"floor, one chain step's SQL through plain sqlite3 (same statements, schema, "
        f"WAL + NORMAL, one commit per step): {per_step * 1e6:.0f} µs/step\n"
        f"floor, the SQL of starting 200 runs (one transaction, plain sqlite3): "
        f"{starts * 1e3:.1f} ms = {starts / 0.25:.3f} × the ideal 0.25 s before any "
        "first model call can start"
    )


def gateway_runner() -> StepRunner:
    from orchestra.agents.step_runner import GatewayStepRunner
    from orchestra.llm.config import GatewayConfig
    from orchestra.llm.gateway import build_gateway

    return GatewayStepRunner(build_gateway(GatewayConfig(cache="off")))


BENCHES: dict[str, tuple[Callable[[], StepRunner], Bench]] = {
    "chain": (Instant, bench_chain),
    "fan": (Instant, bench_fan),
    "concurrent": (lambda: Sleepy(0.05), bench_concurrent),
    "layers": (lambda: Sleepy(0.05), bench_layers),
    "memory": (lambda: Sleepy(0.05), bench_memory),
    "gateway": (gateway_runner, bench_gateway),
    "floor": (Instant, bench_floor),
}


def main() -> None:
    chosen = sys.argv[1:] or list(BENCHES)
    for name in chosen:
        make_runner, bench = BENCHES[name]
        print(asyncio.run(with_engine(make_runner(), bench)), flush=True)


if __name__ == "__main__":
    main()
