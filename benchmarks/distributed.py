"""Celery workers on this machine: throughput of a latency-bound workload, and the
dispatch overhead of the Celery executor against the local one.

    eval "$(bash scripts/postgres.sh)"
    uv run python benchmarks/distributed.py --runs 200 --workers 1,2,4

Each run is a chain of 5 steps whose model (``scripted/echo-after-200ms``) waits
200 ms, so the work is waiting, not CPU: N worker processes (``--concurrency`` steps
each) should give close to N × the one-worker rate. Real redis-server, real
PostgreSQL (ORCHESTRA_TEST_POSTGRES_URL), real ``orchestra worker`` processes; the
driver is an in-process Container, as in ``orchestra serve``.

Overhead: a 5-step chain on ``scripted/instant`` (answers at once), run one at a time,
with the local executor and with one Celery worker: the difference per step is what
sending to a queue, the worker's pre-check and the wake-up through Redis cost.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.distributed.cluster import Proc, RedisServer, start_worker  # noqa: E402

from orchestra.config import load_settings  # noqa: E402
from orchestra.runtime.container import Container, ContainerOptions  # noqa: E402

AGENT = """---
name: {name}
model: {model}
description: benchmark agent
---
Answer.
"""


def chain(name: str, agent: str, steps: int = 5) -> str:
    parts = [f"---\nname: {name}\ndescription: a chain\n---\n"]
    for i in range(steps):
        reads = f"* **Input:** ${{O{i - 1}}}\n" if i else ""
        parts.append(
            f"## Step: s{i}\n* **Agent:** [A](../agents/{agent}.agent.md)\n{reads}"
            f"* **Output:** ${{O{i}}}\n\nStep {i}.\n\n"
        )
    return "".join(parts)


async def _database(server: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(
        make_url(server)
        .set(drivername="postgresql", database="postgres")
        .render_as_string(hide_password=False)
    )
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def write(root: Path, db: str, broker: str | None) -> Path:
    (root / "agents").mkdir(parents=True, exist_ok=True)
    (root / "workflows").mkdir(exist_ok=True)
    dist = f'[distributed]\nbroker_url = "{broker}"\nreconcile_seconds = 2\n' if broker else ""
    (root / "orchestra.toml").write_text(
        f'[models]\ndefault = "scripted/echo"\ncache = "off"\n\n[database]\nurl = "{db}"\n\n'
        f"[engine]\nmax_concurrency = 256\n\n{dist}"
    )
    (root / "agents" / "slow.agent.md").write_text(
        AGENT.format(name="slow", model="scripted/echo-after-200ms")
    )
    (root / "agents" / "instant.agent.md").write_text(
        AGENT.format(name="instant", model="scripted/instant")
    )
    (root / "workflows" / "slow.workflow.md").write_text(chain("slow", "slow"))
    (root / "workflows" / "instant.workflow.md").write_text(chain("instant", "instant"))
    return root


async def drive(root: Path, workflow: str, runs: int, *, one_at_a_time: bool = False) -> float:
    settings = load_settings(root)
    container = await Container.open(settings, ContainerOptions(resume=False, refresh_s=None))
    try:
        await container.gateway.ready()
        started = time.perf_counter()
        if one_at_a_time:
            for _ in range(runs):
                record = await container.runs.wait(await container.runs.start_run(workflow, {}))
                assert record.status.value == "succeeded", record.error
        else:
            ids = [await container.runs.start_run(workflow, {}) for _ in range(runs)]
            for rid in ids:
                record = await container.runs.wait(rid)
                assert record.status.value == "succeeded", record.error
        return time.perf_counter() - started
    finally:
        await container.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--overhead-runs", type=int, default=20)
    args = parser.parse_args()
    server = os.environ.get("ORCHESTRA_TEST_POSTGRES_URL")
    if not server:
        sys.exit('set ORCHESTRA_TEST_POSTGRES_URL: eval "$(bash scripts/postgres.sh)"')
    redis = RedisServer()
    base = Path(f"/tmp/orchestra-bench-{uuid.uuid4().hex[:6]}")
    try:
        rates: dict[int, float] = {}
        for count in [int(n) for n in args.workers.split(",")]:
            db = asyncio.run(_database(server))
            root = write(base / f"w{count}", db, redis.url)
            asyncio.run(drive(root, "instant", 0))  # migrate before the workers open it
            workers = [
                start_worker(root, f"bench{count}-{i}@local", "orchestra", args.concurrency)
                for i in range(count)
            ]
            try:
                elapsed = asyncio.run(drive(root, "slow", args.runs))
            finally:
                for worker in workers:
                    worker.stop()
            rates[count] = args.runs / elapsed
            ratio = rates[count] / (count * rates[min(rates)])
            print(
                f"{count} worker(s) x {args.concurrency}: {args.runs} runs x 5 steps in "
                f"{elapsed:.1f} s = {rates[count]:.2f} runs/s; ratio to {count} x one worker: "
                f"{ratio:.2f}",
                flush=True,
            )
        db = asyncio.run(_database(server))
        local_root = write(base / "local", db, None)
        asyncio.run(drive(local_root, "instant", 1))
        local = asyncio.run(drive(local_root, "instant", args.overhead_runs, one_at_a_time=True))
        db = asyncio.run(_database(server))
        celery_root = write(base / "celery", db, redis.url)
        asyncio.run(drive(celery_root, "instant", 0))
        worker: Proc = start_worker(celery_root, "overhead@local", "orchestra", 4)
        try:
            remote = asyncio.run(
                drive(celery_root, "instant", args.overhead_runs, one_at_a_time=True)
            )
        finally:
            worker.stop()
        steps = args.overhead_runs * 5
        print(
            f"per step, one run at a time: local {local / steps * 1000:.2f} ms, celery "
            f"{remote / steps * 1000:.2f} ms; dispatch overhead "
            f"{(remote - local) / steps * 1000:.2f} ms",
            flush=True,
        )
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
