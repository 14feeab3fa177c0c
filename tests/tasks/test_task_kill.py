"""Tasks survive ``kill -9``: a process working the queue is killed at random moments;
the next one continues every task's run where it stopped, never executing again a step
that had succeeded, and no task is requeued or given to a second run.

The suite kills three times; ``benchmarks/tasks.py kill --kills N`` runs the long soak.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestra.config import load_settings
from orchestra.store.database import connect
from orchestra.store.tables import steps
from orchestra.store.team import TaskRepository
from orchestra.store.team.tasks import TaskRow
from orchestra.tasks import TaskStatus
from orchestra.tasks.specs import TaskDraft
from tests.tasks.project import write_team

WORKER = Path(__file__).with_name("task_worker.py")
ROOT = Path(__file__).resolve().parents[2]
TASKS = 4

SLOW = """---
name: slowpoke
model: scripted/slow
capabilities: [pipeline]
max_tasks: 4
---
You work slowly.
"""

PIPELINE = """---
name: pipeline
inputs:
  Topic: {required: true}
---
## Step: a
* **Agent:** [Slowpoke](../agents/slowpoke.agent.md)
* **Input:** ${Topic}
* **Output:** ${A}

Step a for ${Topic}

## Step: b
* **Agent:** [Slowpoke](../agents/slowpoke.agent.md)
* **Input:** ${A}
* **Output:** ${B}

Step b for ${Topic}

## Step: c
* **Agent:** [Slowpoke](../agents/slowpoke.agent.md)
* **Input:** ${B}
* **Output:** ${C}

Step c for ${Topic}
"""


def executions(log: Path) -> list[tuple[str, str]]:
    """(topic, step) of every model call, in order."""
    if not log.exists():
        return []
    found = []
    for line in log.read_text().splitlines():
        _pid, _step_word, step, _for, topic = line.split(" ")
        found.append((topic, step))
    return found


async def succeeded_steps(url: str, run_topics: dict[str, str]) -> set[tuple[str, str]]:
    database = await connect(url)
    try:
        rows = await database.read(
            lambda conn: list(
                conn.execute(
                    select(steps.c.run_id, steps.c.step_id).where(steps.c.status == "succeeded")
                )
            )
        )
    finally:
        await database.aclose()
    return {(run_topics[r.run_id], r.step_id) for r in rows if r.run_id in run_topics}


async def task_rows(url: str) -> list[TaskRow]:
    database = await connect(url)
    try:
        return list(await TaskRepository(database).list())
    finally:
        await database.aclose()


@pytest.mark.slow
async def test_a_killed_worker_leaves_every_task_to_the_next_one(tmp_path: Path) -> None:
    root = write_team(tmp_path / "team")
    (root / "agents" / "slowpoke.agent.md").write_text(SLOW)
    (root / "workflows" / "pipeline.workflow.md").write_text(PIPELINE)
    settings = load_settings(root, env={})
    url = settings.database.url
    database = await connect(url)
    repository = TaskRepository(database)
    for n in range(TASKS):
        await repository.create(
            TaskDraft(
                title=f"pipeline {n}",
                workflow="pipeline",
                inputs={"Topic": f"t{n}"},
                capabilities=("pipeline",),
            ),
            by="test",
        )
    await database.aclose()
    log = tmp_path / "calls.log"
    rng = random.Random(15)
    forbidden: list[tuple[int, set[tuple[str, str]]]] = []  # (log length, succeeded) per kill
    first_runs: dict[str, str] = {}

    for _kill in range(3):
        before = len(executions(log))
        worker = await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), str(root), str(log), cwd=ROOT
        )
        target = before + rng.randint(1, 4)
        # The log is another process's file: polling it is the readiness signal.
        while len(executions(log)) < target and worker.returncode is None:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        topics = {}
        for row in await task_rows(url):
            if row.run_id is not None:
                first_runs.setdefault(row.id, row.run_id)
                topics[row.run_id] = row.inputs["Topic"]
        forbidden.append((len(executions(log)), await succeeded_steps(url, topics)))

    final = await asyncio.create_subprocess_exec(
        sys.executable, str(WORKER), str(root), str(log), cwd=ROOT
    )
    assert await final.wait() == 0
    rows = await task_rows(url)
    assert [row.status for row in rows] == [TaskStatus.COMPLETE] * TASKS
    for row in rows:  # continued, not requeued: the run a killed process left is the one
        assert row.run_id == first_runs.get(row.id, row.run_id)

    calls = executions(log)
    for length, done in forbidden:
        again = [call for call in calls[length:] if call in done]
        assert not again, f"steps that had succeeded ran again: {again}"
    assert set(calls) == {(f"t{n}", s) for n in range(TASKS) for s in "abc"}


@pytest.mark.slow
@pytest.mark.parametrize("max_attempts", [3, 1])
async def test_a_live_process_requeues_the_tasks_of_one_that_died(
    tmp_path: Path, max_attempts: int
) -> None:
    """Another process that is running sees the dead one's heartbeat lapse: the agent goes
    offline, its unfinished task is queued again (attempt counted) and finished there; with
    no attempt left, the task fails with the reason instead."""
    from orchestra.engine.ids import RunId
    from orchestra.engine.states import RunStatus
    from orchestra.runtime.container import Container, ContainerOptions
    from tests.tasks.task_worker import scripts

    root = write_team(tmp_path / "team")
    (root / "agents" / "slowpoke.agent.md").write_text(SLOW)
    (root / "workflows" / "pipeline.workflow.md").write_text(PIPELINE)
    toml = root / "orchestra.toml"
    toml.write_text(
        toml.read_text().replace(
            "[tasks]\n", "[tasks]\nlapse_seconds = 1\nheartbeat_seconds = 0.2\n"
        )
    )
    settings = load_settings(root, env={})
    log = tmp_path / "calls.log"
    database = await connect(settings.database.url)
    created, _ = await TaskRepository(database).create(
        TaskDraft(
            title="pipeline",
            workflow="pipeline",
            inputs={"Topic": "t0"},
            capabilities=("pipeline",),
            max_attempts=max_attempts,
        ),
        by="test",
    )
    await database.aclose()

    worker = await asyncio.create_subprocess_exec(
        sys.executable, str(WORKER), str(root), str(log), cwd=ROOT
    )
    while not executions(log) and worker.returncode is None:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    worker.send_signal(signal.SIGKILL)
    await worker.wait()

    # The survivor: it does not resume the dead process's runs itself (it was already
    # running when that process died), so only recovery can finish the task.
    container = await Container.open(
        settings, ContainerOptions(refresh_s=None, resume=False, scripts=scripts(log))
    )
    try:
        service = container.tasks
        first = await service.tasks.get(created.id)
        assert first.status.active and first.run_id is not None
        deadline = asyncio.get_running_loop().time() + 120
        while (await service.tasks.get(created.id)).status.active or (
            await service.tasks.get(created.id)
        ).status is TaskStatus.QUEUED:
            await service.run_once()
            assert asyncio.get_running_loop().time() < deadline, "the task never ended"
            await asyncio.sleep(0.1)
        done = await service.tasks.get(created.id)
        old_run = await container.store.get_run(RunId(first.run_id))
        moves = [m.target.value for m in await service.agents.transitions("slowpoke")]
        notes = [u.note for u in await service.tasks.updates(created.id)]
    finally:
        await container.close()

    assert old_run.status is RunStatus.CANCELLED  # the dead process's run is not left open
    assert "offline" in moves
    assert any("no heartbeat" in note for note in notes)
    if max_attempts == 1:
        assert done.status is TaskStatus.FAILED
        assert done.error is not None and done.error["type"] == "attempts_exhausted"
    else:
        assert done.status is TaskStatus.COMPLETE
        assert done.attempts == 2 and done.run_id != first.run_id
