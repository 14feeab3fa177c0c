"""Chaos on Celery workers: ``--kills`` kill -9 of random workers at random moments and
one Redis restart while runs of a DAG with parallel branches are in flight; prints the
tally and every violated property (tests/distributed/chaos.py says which).

    eval "$(bash scripts/postgres.sh)"
    uv run python benchmarks/chaos_distributed.py --kills 100

Real redis-server, a fresh database on ORCHESTRA_TEST_POSTGRES_URL (dropped at the end),
real ``orchestra worker`` processes; exits 1 when a property failed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.distributed.chaos import WorkerPool, unleash  # noqa: E402
from tests.distributed.cluster import RedisServer, write_project  # noqa: E402
from tests.distributed.conftest import migrated  # noqa: E402


async def _admin(server: str, statement: str) -> None:
    dsn = make_url(server).set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--cpu-workers", type=int, default=3)
    parser.add_argument("--gpu-workers", type=int, default=2)
    parser.add_argument("--in-flight", type=int, default=6)
    parser.add_argument("--delay-ms", type=int, default=400)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    server = os.environ.get("ORCHESTRA_TEST_POSTGRES_URL")
    if not server:
        sys.exit('set ORCHESTRA_TEST_POSTGRES_URL: eval "$(bash scripts/postgres.sh)"')
    name = f"chaos_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    redis = RedisServer()
    try:
        with tempfile.TemporaryDirectory(prefix="orchestra-chaos-") as tmp:
            project = migrated(
                write_project(Path(tmp), url, redis.url, delay_ms=args.delay_ms, lease_s=2)
            )
            pool = WorkerPool(project, cpu=args.cpu_workers, gpu=args.gpu_workers, concurrency=3)
            try:
                tally = asyncio.run(
                    unleash(
                        project,
                        url,
                        redis,
                        pool,
                        kills=args.kills,
                        min_runs=1,
                        in_flight=args.in_flight,
                        seed=args.seed,
                    )
                )
            finally:
                pool.stop()
    finally:
        redis.stop()
        asyncio.run(_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(tally.summary(), flush=True)
    for problem in tally.problems:
        print("PROBLEM:", problem)
    sys.exit(1 if tally.problems else 0)


if __name__ == "__main__":
    main()
