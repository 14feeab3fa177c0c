"""A second process committing events of one run: ``python -m tests.api.commit_writer PROJECT``.

It opens the same composition root as ``orchestra serve`` (so it uses the
notifier the container picks for the project's database), creates a run,
prints its id, waits for a line on stdin, then commits ``BATCHES`` batches of
``PER_BATCH`` log events (one transaction each) and a final ``run_finished``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from orchestra.config import load_settings
from orchestra.engine.events import EventType
from orchestra.runtime.container import Container, ContainerOptions
from tests.engine.helpers import step, workflow

BATCHES = 12
PER_BATCH = 5


async def main(project: Path) -> None:
    settings = load_settings(project, env={})
    container = await Container.open(settings, ContainerOptions(refresh_s=None, resume=False))
    try:
        run_id = await container.store.create_run(workflow(step("a")), {})
        print(run_id, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        for batch in range(BATCHES):
            drafts = [
                (EventType.LOG, None, {"message": f"batch {batch} line {line}"})
                for line in range(PER_BATCH)
            ]
            await container.store.append_events(run_id, drafts)
        await container.store.append_events(
            run_id, [(EventType.RUN_FINISHED, None, {"status": "succeeded"})]
        )
    finally:
        await container.close()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
