"""Engine benchmarks: print figures, assert nothing.

    uv run python benchmarks/engine.py            # all
    uv run python benchmarks/engine.py chain      # one

Durable SQLite (a file, WAL, synchronous=NORMAL, every transition committed
before its event is published). Steps use a step runner that answers at once
(engine overhead) or after ``asyncio.sleep(0.05)`` (a 50 ms model call).

The ``gw-*`` figures take the real path: the ``GatewayStepRunner`` over the
model gateway with the scripted model (``scripted/instant``, or a script that
answers after 50 ms), streaming as ``[models] stream`` does by default. Each is
printed next to the engine-only figure (or the floor) measured in the same
process, interleaved, so the ratio holds on a loaded machine:

    uv run python benchmarks/engine.py gw-chain gw-layers gw-concurrent rss
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
SLOW_AGENT = AgentSpec(name="w", model="scripted/slow", system_prompt="x", path=Path("w.md"))
"""``scripted/slow`` answers after 50 ms (registered by :func:`gateway_runner`)."""
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


def spec(steps: list[StepSpec], agent: AgentSpec = AGENT) -> WorkflowSpec:
    return WorkflowSpec(
        name="bench", steps=tuple(steps), agents={"w": agent}, path=Path("bench.md")
    )


def chain(n: int, agent: AgentSpec = AGENT) -> WorkflowSpec:
    return spec([step("s0")] + [step(f"s{i}", (f"s{i - 1}",)) for i in range(1, n)], agent)


def fan(n: int) -> WorkflowSpec:
    branches = [step(f"b{i}", ("root",)) for i in range(n)]
    return spec([step("root"), *branches, step("join", tuple(b.id for b in branches))])


def layers(depth: int, width: int, agent: AgentSpec = AGENT) -> WorkflowSpec:
    steps = [step(f"l0_{j}") for j in range(width)]
    for i in range(1, depth):
        previous = tuple(f"l{i - 1}_{j}" for j in range(width))
        steps += [step(f"l{i}_{j}", previous) for j in range(width)]
    return spec(steps, agent)


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
        f"100-step chain through GatewayStepRunner + scripted/instant: "
        f"{elapsed * 1e6 / 100:.0f} µs/step"
    )


async def _two_engines(bench: Callable[[Engine, Engine], Awaitable[str]], sleepy: bool) -> str:
    """An engine-only engine (``Instant`` or ``Sleepy``) and one over the gateway, each on
    a database of its own, for figures measured side by side."""
    engine_only: StepRunner = Sleepy(0.05) if sleepy else Instant()

    async def outer(plain: Engine) -> str:
        return await with_engine(gateway_runner(), lambda real: bench(plain, real))

    return await with_engine(engine_only, outer)


async def bench_gw_chain(_: Engine) -> str:
    """W1 through the gateway, rounds interleaved with the engine-only chain."""

    async def both(plain: Engine, real: Engine) -> str:
        await timed_runs(plain, chain(20), 1)
        await timed_runs(real, chain(20), 1)
        times: dict[str, list[float]] = {"engine": [], "gateway": []}
        for _ in range(REPEAT):
            times["engine"].append(await timed_runs(plain, chain(200), 1))
            times["gateway"].append(await timed_runs(real, chain(200), 1))
        best = {k: min(v) * 1e6 / 200 for k, v in times.items()}
        med = {k: statistics.median(v) * 1e6 / 200 for k, v in times.items()}
        return (
            f"W1 200-step chain through the gateway (scripted/instant, streaming): "
            f"{best['gateway']:.0f} µs/step (median {med['gateway']:.0f}), engine only "
            f"{best['engine']:.0f} (median {med['engine']:.0f}): "
            f"{best['gateway'] / best['engine']:.2f}x (median "
            f"{med['gateway'] / med['engine']:.2f}x; target <= 2x)"
        )

    return await _two_engines(both, sleepy=False)


async def bench_gw_layers(_: Engine) -> str:
    """W4 through the gateway with 50 ms scripted calls, interleaved with engine-only."""

    async def both(plain: Engine, real: Engine) -> str:
        times: dict[str, list[float]] = {"engine": [], "gateway": []}
        for _ in range(3):
            times["engine"].append(await timed_runs(plain, layers(10, 10), 1))
            times["gateway"].append(await timed_runs(real, layers(10, 10, SLOW_AGENT), 1))
        med = {k: statistics.median(v) / 0.5 for k, v in times.items()}
        return (
            f"W4 10 layers × 10 parallel 50 ms calls through the gateway: "
            f"{med['gateway']:.3f} × ideal 0.5 s (target <= 1.15), engine only "
            f"{med['engine']:.3f} × (medians of 3 interleaved rounds)"
        )

    return await _two_engines(both, sleepy=True)


async def bench_gw_concurrent(_: Engine) -> str:
    """W3 through the gateway with 50 ms scripted calls, next to engine-only and the
    bare-asyncio floor, each once per process on a fresh database."""

    async def both(plain: Engine, real: Engine) -> str:
        floor = await bare_asyncio_runs(200, 5)
        engine_only = await timed_runs(plain, chain(5), 200)
        through = await timed_runs(real, chain(5, SLOW_AGENT), 200)
        return (
            f"W3 200 runs × 5 steps of 50 ms: through the gateway {through:.3f} s = "
            f"{through / 0.25:.2f} × ideal, {through / floor:.2f} × the bare-asyncio floor "
            f"({floor:.3f} s); engine only {engine_only:.3f} s = {engine_only / floor:.2f} × "
            "the floor (max_concurrency=None here; target <= 1.5 × the floor)"
        )

    return await _two_engines(both, sleepy=True)


async def bench_w3_defaults(engine: Engine) -> str:
    """W3 engine-only with the default ``EngineSettings`` (its default cap on steps in
    flight), next to the bare-asyncio floor measured in the same process."""
    floor = await bare_asyncio_runs(200, 5)
    defaults = Engine(engine.store, engine.runner, EngineSettings())
    elapsed = await timed_runs(defaults, chain(5), 200)
    return (
        f"W3 200 runs × 5 steps of 50 ms, default settings (max_concurrency="
        f"{EngineSettings().max_concurrency}): {elapsed:.3f} s = {elapsed / floor:.2f} × the "
        f"bare-asyncio floor {floor:.3f} s (target <= 1.5)"
    )


async def bench_rss(_: Engine) -> str:
    """Peak RSS of W3, engine-only and through the gateway, each in a fresh process."""
    figures: dict[str, float] = {}
    for kind in ("engine", "gateway"):
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "_rss", kind, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await child.communicate()
        figures[kind] = float(out.decode().strip().splitlines()[-1])
    return (
        f"W3 peak RSS: through the gateway {figures['gateway']:.0f} MiB, engine only "
        f"{figures['engine']:.0f} MiB: {figures['gateway'] / figures['engine']:.2f}x "
        "(target <= 1.5x)"
    )


async def _rss_child(kind: str) -> None:
    runner: StepRunner = gateway_runner() if kind == "gateway" else Sleepy(0.05)
    agent = SLOW_AGENT if kind == "gateway" else AGENT

    async def bench(engine: Engine) -> str:
        await timed_runs(engine, chain(5, agent), 200)
        return ""

    await with_engine(runner, bench)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


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


def gateway_runner(*, stream: bool = True) -> StepRunner:
    """The real step runner over the gateway; ``scripted/slow`` answers after 50 ms."""
    from orchestra.agents.step_runner import GatewayStepRunner
    from orchestra.llm.config import GatewayConfig
    from orchestra.llm.gateway import build_gateway
    from orchestra.llm.scripted import Reply

    gateway = build_gateway(GatewayConfig(cache="off"))
    gateway.scripts.register("slow", lambda _messages: Reply(text="ok", delay_s=0.05))
    return GatewayStepRunner(gateway, stream=stream)


BENCHES: dict[str, tuple[Callable[[], StepRunner], Bench]] = {
    "chain": (Instant, bench_chain),
    "fan": (Instant, bench_fan),
    "concurrent": (lambda: Sleepy(0.05), bench_concurrent),
    "layers": (lambda: Sleepy(0.05), bench_layers),
    "memory": (lambda: Sleepy(0.05), bench_memory),
    "gateway": (gateway_runner, bench_gateway),
    "floor": (Instant, bench_floor),
    "gw-chain": (Instant, bench_gw_chain),
    "gw-layers": (Instant, bench_gw_layers),
    "gw-concurrent": (Instant, bench_gw_concurrent),
    "rss": (Instant, bench_rss),
    "w3-defaults": (lambda: Sleepy(0.05), bench_w3_defaults),
}


def main() -> None:
    if sys.argv[1:2] == ["_rss"]:
        asyncio.run(_rss_child(sys.argv[2]))
        return
    chosen = sys.argv[1:] or list(BENCHES)
    for name in chosen:
        make_runner, bench = BENCHES[name]
        print(asyncio.run(with_engine(make_runner(), bench)), flush=True)


if __name__ == "__main__":
    main()
