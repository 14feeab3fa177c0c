"""One dispatcher process of the assignment race (tests/store/test_assignment_race.py).

It assigns queued tasks in small batches and completes each one it was given after a
short random pause, until the queue is empty and it holds nothing. It prints the number
of tasks it assigned when done.
"""

from __future__ import annotations

import asyncio
import random
import sys

from orchestra.agents.assignment import Strategy
from orchestra.store.database import connect
from orchestra.store.team import TaskRepository, assign_batch
from orchestra.tasks import TaskStatus


async def main(url: str, name: str, strategy: str) -> None:
    database = await connect(url, run_migrations=False)
    tasks = TaskRepository(database)
    rng = random.Random(name)
    chooser = Strategy(strategy, rng=rng)  # type: ignore[arg-type]
    held: set[asyncio.Task[None]] = set()
    assigned = 0

    async def finish(task_id: str) -> None:
        await asyncio.sleep(rng.random() * 0.02)
        await tasks.move(task_id, TaskStatus.COMPLETE, by=name)

    while True:
        batch = await assign_batch(database, chooser, limit=rng.randint(1, 8), by=name)
        assigned += len(batch.assigned)
        for item in batch.assigned:
            job = asyncio.create_task(finish(item.task_id))
            held.add(job)
            job.add_done_callback(held.discard)
        if not batch.assigned:
            if not held and not await tasks.list(status=TaskStatus.QUEUED, limit=1):
                break
            await asyncio.sleep(0.005)
    await database.aclose()
    print(assigned, flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
