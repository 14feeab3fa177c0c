"""The chaos harness (tests/distributed/chaos.py), bounded: 10 kill -9 of random
workers at random moments and one Redis restart while runs of a DAG with parallel
branches are in flight; every property of the harness must hold.

benchmarks/chaos_distributed.py runs the same harness with ``--kills 100``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.distributed.chaos import WorkerPool, unleash
from tests.distributed.cluster import RedisServer, write_project
from tests.distributed.conftest import migrated

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.mark.timeout(900)
def test_kill_9_of_random_workers_and_a_redis_restart_lose_and_repeat_nothing(
    tmp_path: Path, postgres_url: str, redis: RedisServer
) -> None:
    project = migrated(
        write_project(tmp_path / "p", postgres_url, redis.url, delay_ms=400, lease_s=2)
    )
    pool = WorkerPool(project, cpu=3, gpu=2, concurrency=3)
    try:
        tally = asyncio.run(
            unleash(project, postgres_url, redis, pool, kills=10, min_runs=6, seed=16)
        )
    finally:
        pool.stop()
    print(tally.summary())
    assert tally.problems == [], tally.summary() + "\n" + "\n".join(tally.problems)
    assert tally.kills == 10 and tally.redis_restarts == 1
    assert tally.mid_step_kills >= 1 and tally.taken_over >= 1  # the kills did hit steps
    assert tally.steps == 4 * tally.runs >= 24
