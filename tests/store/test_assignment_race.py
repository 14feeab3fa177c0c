"""Four dispatcher processes race over hundreds of tasks on one PostgreSQL database:
no task is given twice, no agent ever holds more than ``max_tasks``, nothing is lost.

The parent samples the load per agent in single statements (one snapshot each) while
the race runs: since a task's move and its agent's slot change commit together, any
snapshot showing more active tasks than ``max_tasks`` is a broken guarantee.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from orchestra.store.database import connect
from orchestra.store.team import AgentRepository, TaskRepository
from orchestra.store.team.agents import AgentProfile
from orchestra.store.team.tables import agent_sessions, agents, task_updates, tasks
from orchestra.tasks import TaskStatus
from orchestra.tasks.specs import TaskDraft
from orchestra.tasks.states import ACTIVE

WORKER = Path(__file__).with_name("dispatcher_process.py")
ROOT = Path(__file__).resolve().parents[2]
TASKS = 300
DISPATCHERS = 4


@pytest.mark.postgres
async def test_racing_dispatchers_never_double_assign(postgres_url: str) -> None:
    strategy = "least_loaded"
    database = await connect(postgres_url)
    try:
        limits = {f"agent{i:02d}": 1 + i % 3 for i in range(12)}
        await AgentRepository(database).sync(
            [
                AgentProfile(name=n, source="api", spec_hash=n, max_tasks=m, weight=1 + i % 2)
                for i, (n, m) in enumerate(limits.items())
            ]
        )
        repo = TaskRepository(database)
        for i in range(TASKS):
            await repo.create(TaskDraft(title=f"t{i}", priority=i % 10), by="test")

        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(WORKER),
                postgres_url,
                f"d{i}",
                strategy,
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
            )
            for i in range(DISPATCHERS)
        ]
        t = tasks.c
        load = select(t.agent, func.count()).where(t.status.in_(ACTIVE)).group_by(t.agent)
        overloads: list[tuple[str, int]] = []
        samples = 0
        exits = [asyncio.ensure_future(p.wait()) for p in procs]
        while not all(e.done() for e in exits):
            rows = await database.read(lambda conn: list(conn.execute(load)))
            samples += 1
            overloads += [(a, n) for a, n in rows if n > limits[a]]
            await asyncio.wait(exits, timeout=0.01, return_when=asyncio.FIRST_COMPLETED)
        outputs = [int((await p.stdout.read()).decode()) for p in procs if p.stdout]
        assert [p.returncode for p in procs] == [0] * DISPATCHERS

        assert overloads == []
        assert samples > 3  # the race was observed while it ran
        assert sum(outputs) == TASKS
        assert sum(1 for n in outputs if n > 0) >= 2  # they really competed

        u = task_updates.c

        def final(conn):  # type: ignore[no-untyped-def]
            per_task = conn.execute(
                select(u.task_id, func.count())
                .where(u.target == TaskStatus.ASSIGNED)
                .group_by(u.task_id)
            ).all()
            statuses = conn.execute(select(t.status, func.count()).group_by(t.status)).all()
            held = conn.execute(select(func.sum(agents.c.active_tasks))).scalar()
            sessions = conn.execute(
                select(func.count()).where(agent_sessions.c.outcome == "complete")
            ).scalar()
            return per_task, statuses, held, sessions

        per_task, statuses, held, sessions = await database.read(final)
        assert len(per_task) == TASKS and {n for _, n in per_task} == {1}
        assert dict(statuses) == {"complete": TASKS}
        assert held == 0
        assert sessions == TASKS
    finally:
        await database.aclose()
