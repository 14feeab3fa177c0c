"""Chaos for steps on Celery workers: kill -9 random workers at random moments, restart
Redis once, while runs of a DAG with parallel branches are in flight; then check.

Real parts only: redis-server, one PostgreSQL database, N ``orchestra worker``
processes (cpu workers on queue ``orchestra``, gpu workers on queue ``gpu-a``), and an
in-process driver (a :class:`~orchestra.runtime.container.Container`, as in
``orchestra serve``) handing steps out through the Celery executor. Each killed worker
is replaced at once by a new process (a new name) on the same queues, so the pool
keeps its size while the killed one's steps are taken over.

Afterwards, read from the database (the tests' independent witness):

* every run succeeded;
* no step that succeeded ran again: each step has exactly one succeeded attempt and it
  is its last, the succeeded attempt made exactly one model call, no attempt made more
  than one, and no model call belongs to an attempt that is not stored;
* every run's events are contiguous from seq 1, with exactly one ``step_complete``
  per step;
* no attempt ran on a worker outside the step's queue (step c on ``gpu-a``, the others
  on ``orchestra``).

Used by tests/distributed/test_chaos.py (a bounded number of kills) and
benchmarks/chaos_distributed.py (``--kills 100``), which prints the tally.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestra.config import load_settings
from orchestra.engine.ids import RunId
from orchestra.runtime.container import Container, ContainerOptions
from tests.distributed import store_view
from tests.distributed.cluster import Proc, RedisServer

STEP_QUEUE = {"a": "orchestra", "b": "orchestra", "c": "gpu-a", "d": "orchestra"}
"""The queue each step of the ``fan`` workflow is routed to (c's agent uses gpu-a)."""


@dataclass
class Tally:
    """What happened, and every violated property (empty ``problems``: all held)."""

    kills: int = 0
    mid_step_kills: int = 0
    """Kills of a worker that held a running attempt at that moment."""
    redis_restarts: int = 0
    runs: int = 0
    steps: int = 0
    attempts: int = 0
    taken_over: int = 0
    """Steps that needed more than one attempt."""
    workers_started: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.kills} kill -9 ({self.mid_step_kills} mid-step), "
            f"{self.redis_restarts} Redis restart(s), {self.workers_started} workers started; "
            f"{self.runs} runs, {self.steps} steps, {self.attempts} attempts, "
            f"{self.taken_over} steps taken over after a kill; {self.seconds:.0f} s; "
            f"{len(self.problems)} problem(s)"
        )


class WorkerPool:
    """Live ``orchestra worker`` processes by name; a killed one is replaced at once.

    ``queues`` remembers the queues of every worker ever started (the dead included),
    which is what the queue check reads attempts against.
    """

    def __init__(self, project: Path, *, cpu: int, gpu: int, concurrency: int = 4) -> None:
        self.project = project
        self.concurrency = concurrency
        self.queues: dict[str, list[str]] = {}
        self.live: dict[str, Proc] = {}
        self._serial = itertools.count(1)
        for _ in range(cpu):
            self.start("orchestra")
        for _ in range(gpu):
            self.start("gpu-a")
        self.wait_ready()

    def start(self, queue: str) -> str:
        name = f"{'gpu' if queue == 'gpu-a' else 'cpu'}{next(self._serial)}@chaos"
        self.queues[name] = [queue]
        self.live[name] = Proc(
            self.project,
            "worker",
            "--name",
            name,
            "--queues",
            queue,
            "--concurrency",
            str(self.concurrency),
        )
        return name

    def ready(self) -> list[str]:
        return [
            name
            for name, proc in self.live.items()
            if proc.process.poll() is None and f"worker {name} ready" in proc.output()
        ]

    def wait_ready(self) -> None:
        for name, proc in self.live.items():
            proc.wait_for(f"worker {name} ready")

    def kill(self, name: str) -> str:
        """kill -9 ``name`` and start its replacement; the replacement's name."""
        self.live.pop(name).kill()
        return self.start(self.queues[name][0])

    def stop(self) -> None:
        for proc in self.live.values():
            proc.stop()
        self.live.clear()


def _holding(url: str) -> set[str]:
    rows = store_view.query(
        url, "SELECT DISTINCT worker FROM step_attempts WHERE status = 'running'"
    )
    return {row["worker"] for row in rows if row["worker"]}


async def unleash(
    project: Path,
    url: str,
    redis: RedisServer,
    pool: WorkerPool,
    *,
    kills: int,
    min_runs: int,
    in_flight: int = 4,
    max_gap_s: float = 1.5,
    seed: int | None = None,
) -> Tally:
    """Drive runs of ``fan`` (``in_flight`` at a time) while killing ``kills`` random
    workers at random moments (Redis restarted once, halfway); then check the store."""
    rng = random.Random(seed)
    tally = Tally()
    first = len(pool.queues)
    started = time.monotonic()
    container = await Container.open(
        load_settings(project), ContainerOptions(resume=False, refresh_s=None)
    )
    try:
        await container.gateway.ready()
        active: set[asyncio.Task[Any]] = set()
        ids: list[RunId] = []

        async def top_up() -> None:
            while len(active) < in_flight and (tally.kills < kills or len(ids) < min_runs):
                run_id = await container.runs.start_run("fan", {})
                ids.append(run_id)
                task = asyncio.create_task(container.runs.wait(run_id))
                active.add(task)
                task.add_done_callback(active.discard)

        await top_up()
        while tally.kills < kills:
            await asyncio.sleep(rng.uniform(0.1, max_gap_s))
            await top_up()
            candidates = pool.ready()
            if not candidates:
                continue  # every worker is a replacement still starting
            holding = await asyncio.to_thread(_holding, url)
            busy = [name for name in candidates if name in holding]
            victim = rng.choice(busy if busy and rng.random() < 0.8 else candidates)
            tally.mid_step_kills += victim in busy
            await asyncio.to_thread(pool.kill, victim)
            tally.kills += 1
            if tally.kills == max(1, kills // 2) and not tally.redis_restarts:
                await asyncio.to_thread(redis.restart)  # no persistence: all messages gone
                tally.redis_restarts += 1
        await top_up()
        while active:
            await asyncio.wait(set(active), return_when=asyncio.FIRST_COMPLETED)
            await top_up()
    finally:
        await container.close()
    tally.seconds = time.monotonic() - started
    tally.workers_started = len(pool.queues) - first
    await asyncio.to_thread(check, url, pool.queues, ids, tally)
    return tally


def check(url: str, queues: dict[str, list[str]], ids: list[RunId], tally: Tally) -> None:
    """Every property of the module docstring, read from the database into ``tally``."""
    problems = tally.problems
    status = {
        row["id"]: row["status"] for row in store_view.query(url, "SELECT id, status FROM runs")
    }
    tally.runs = len(ids)
    for run_id in ids:
        if status.get(run_id) != "succeeded":
            problems.append(f"run {run_id} is {status.get(run_id)}")
    by_step: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in store_view.attempts(url):
        by_step[(row["run_id"], row["step_id"])].append(row)
    calls: Counter[tuple[str, str, int]] = Counter()
    for row in store_view.query(
        url,
        "SELECT run_id, step_id, attempt, count(*) AS n FROM model_calls "
        "GROUP BY run_id, step_id, attempt",
    ):
        calls[(row["run_id"], row["step_id"], row["attempt"])] = row["n"]
    for run_id in ids:
        for step_id, queue in STEP_QUEUE.items():
            rows = by_step.get((run_id, step_id), [])
            tally.steps += 1
            tally.attempts += len(rows)
            tally.taken_over += len(rows) > 1
            where = f"run {run_id} step {step_id}"
            won = [r["attempt"] for r in rows if r["status"] == "succeeded"]
            if len(won) != 1:
                problems.append(f"{where}: succeeded attempts {won} of {rows}")
            elif won[0] != max(r["attempt"] for r in rows):
                problems.append(f"{where}: ran again after attempt {won[0]} succeeded: {rows}")
            elif calls[(run_id, step_id, won[0])] != 1:
                problems.append(f"{where}: {calls[(run_id, step_id, won[0])]} model calls")
            for r in rows:
                if calls[(run_id, step_id, r["attempt"])] > 1:
                    problems.append(f"{where}: attempt {r['attempt']} called the model twice")
                if queue not in queues.get(r["worker"] or "", []):
                    problems.append(f"{where}: attempt {r['attempt']} ran on {r['worker']}")
            stored = {r["attempt"] for r in rows}
            for (call_run, call_step, attempt), _ in calls.items():
                if (call_run, call_step) == (run_id, step_id) and attempt not in stored:
                    problems.append(f"{where}: a model call of unknown attempt {attempt}")
        seqs = store_view.seqs(url, run_id)
        if seqs != list(range(1, len(seqs) + 1)):
            problems.append(f"run {run_id}: events not contiguous: {seqs}")
        completes = Counter(
            row["step_id"]
            for row in store_view.query(
                url,
                "SELECT step_id FROM events WHERE run_id = $1 AND type = 'step_complete'",
                run_id,
            )
        )
        if completes != Counter(list(STEP_QUEUE)):
            problems.append(f"run {run_id}: step_complete events {dict(completes)}")
