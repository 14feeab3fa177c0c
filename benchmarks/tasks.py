"""Task queue benchmarks: print figures, assert nothing.

    uv run python benchmarks/tasks.py                      # all, on SQLite
    uv run python benchmarks/tasks.py throughput --db postgres
    uv run python benchmarks/tasks.py latency --rate 200 --seconds 10
    uv run python benchmarks/tasks.py workspace

* ``throughput``: 10,000 queued tasks, 100 agents (room for all of them), one dispatcher
  assigning batches (``[tasks] batch``, 200) until the queue is empty: assignments/s.
* ``latency``: tasks created at a fixed rate (200/s) while one dispatcher assigns them
  as they come (woken by each creation, as ``TaskService`` is): create-to-assigned
  p50/p99 from the stored timestamps.
* ``workspace``: creating a task's workspace (folders, README checklist) and its
  virtual environment (``uv venv`` when uv is found, else ``python -m venv``).

``--db postgres`` uses ``$ORCHESTRA_TEST_POSTGRES_URL`` or starts the throwaway server
of scripts/postgres.sh. Targets (issue 15): ≥ 1,000 assignments/s and p99 ≤ 50 ms on
SQLite; a workspace with its venv ≤ 2 s with uv.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy import insert, select
from sqlalchemy.engine import make_url

from orchestra.agents.assignment import Strategy
from orchestra.store.database import Database, connect
from orchestra.store.team import AgentRepository, TaskRepository, assign_batch
from orchestra.store.team.agents import AgentProfile
from orchestra.store.team.tables import task_updates, tasks
from orchestra.tasks import TaskStatus
from orchestra.tasks.specs import TaskDraft
from orchestra.tasks.workspace import ensure_task_venv, open_task_workspace

ROOT = Path(__file__).resolve().parents[1]


async def database_url(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    server = os.environ.get("ORCHESTRA_TEST_POSTGRES_URL")
    if not server:
        started = await asyncio.create_subprocess_exec(
            "bash", str(ROOT / "scripts" / "postgres.sh"), stdout=asyncio.subprocess.PIPE
        )
        out, _ = await started.communicate()
        server = out.decode().strip().rsplit("=", 1)[1]
    name = f"bench_{uuid.uuid4().hex[:8]}"
    dsn = make_url(server).set(drivername="postgresql", database="postgres")
    admin = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


async def team(database: Database, agents: int, room: int) -> None:
    await AgentRepository(database).sync(
        [
            AgentProfile(name=f"agent{n:03d}", source="bench", spec_hash="x", max_tasks=room)
            for n in range(agents)
        ]
    )


async def queue(database: Database, count: int) -> None:
    """``count`` queued tasks in bulk (the creation path is not what is measured here)."""
    now = time.time()
    rows = [
        {
            "id": uuid.uuid4().hex,
            "title": f"task {n}",
            "description": "",
            "complexity": 1 + n % 10,
            "capabilities_json": "[]",
            "priority": n % 10,
            "inputs_json": "{}",
            "status": TaskStatus.QUEUED,
            "attempts": 0,
            "max_attempts": 3,
            "created_by": "bench",
            "created_at": now + n * 1e-6,
            "updated_at": now,
        }
        for n in range(count)
    ]

    def work(conn: object) -> None:
        conn.execute(insert(tasks), rows)  # type: ignore[attr-defined]
        conn.execute(  # type: ignore[attr-defined]
            insert(task_updates),
            [
                {
                    "task_id": r["id"],
                    "at": now,
                    "kind": "status",
                    "target": "queued",
                    "note": "",
                    "by": "bench",
                }
                for r in rows
            ],
        )

    await database.write(work)


async def throughput(kind: str, total: int = 10_000, agents: int = 100) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = await database_url(kind, Path(folder))
        database = await connect(url)
        try:
            await team(database, agents, room=total // agents)
            await queue(database, total)
            assigned = 0
            started = time.perf_counter()
            while True:
                batch = await assign_batch(database, Strategy("least_recent"), limit=200)
                if not batch.assigned:
                    break
                assigned += len(batch.assigned)
            elapsed = time.perf_counter() - started
        finally:
            await database.aclose()
    print(
        f"throughput [{kind}]: {assigned} tasks to {agents} agents in {elapsed:.2f} s = "
        f"{assigned / elapsed:,.0f} assignments/s (target >= 1,000 on SQLite)"
    )


async def latency(kind: str, rate: float = 200.0, seconds: float = 10.0) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = await database_url(kind, Path(folder))
        database = await connect(url)
        repository = TaskRepository(database)
        count = int(rate * seconds)
        wake = asyncio.Event()
        done = asyncio.Event()
        try:
            await team(database, 100, room=count // 100 + 1)

            async def produce() -> None:
                start = time.perf_counter()
                for n in range(count):
                    delay = start + n / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    await repository.create(TaskDraft(title=f"t{n}", complexity=1 + n % 10), by="b")
                    wake.set()
                done.set()

            async def dispatch() -> None:
                while True:
                    await wake.wait()
                    wake.clear()
                    while (await assign_batch(database, Strategy("least_recent"))).assigned:
                        pass
                    if done.is_set() and not wake.is_set():
                        return

            await asyncio.gather(produce(), dispatch())
            rows = await database.read(
                lambda conn: list(conn.execute(select(tasks.c.created_at, tasks.c.assigned_at)))
            )
        finally:
            await database.aclose()
    waits = sorted((r.assigned_at - r.created_at) * 1000 for r in rows if r.assigned_at)
    p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
    print(
        f"latency [{kind}]: {len(waits)}/{count} tasks offered at {rate:g}/s; create-to-assigned "
        f"p50 {statistics.median(waits):.1f} ms, p99 {p99:.1f} ms (target p99 <= 50 ms on SQLite)"
    )


async def workspace(reps: int = 5) -> None:
    tool = "uv venv" if shutil.which("uv") else "python -m venv"
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for n in range(reps):
            started = time.perf_counter()
            ws = open_task_workspace(
                Path(folder), "agent", f"task{n}", title="t", description="", run_id=f"run{n}"
            )
            await ensure_task_venv(ws)
            times.append(time.perf_counter() - started)
    print(
        f"workspace: folders + README + venv ({tool}) median {statistics.median(times):.2f} s, "
        f"max {max(times):.2f} s over {reps} (target <= 2 s with uv)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "what", nargs="?", default="all", choices=["all", "throughput", "latency", "workspace"]
    )
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--tasks", type=int, default=10_000)
    args = parser.parse_args()
    if args.what in ("all", "throughput"):
        asyncio.run(throughput(args.db, args.tasks))
    if args.what in ("all", "latency"):
        asyncio.run(latency(args.db, args.rate, args.seconds))
    if args.what in ("all", "workspace"):
        asyncio.run(workspace())


if __name__ == "__main__":
    main()
