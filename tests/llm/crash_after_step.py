"""Run a workflow in a container and die (``os._exit``, no cleanup) the moment the first
step's completion is published, i.e. right after the store committed it.

Usage: python -m tests.llm.crash_after_step PROJECT_DIR
Prints the run id on the first line before dying with exit code 9.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from orchestra.config import load_settings
from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.runtime.container import Container, ContainerOptions


async def main(project: Path) -> None:
    container = await Container.open(
        load_settings(project, env={}), ContainerOptions(refresh_s=None)
    )

    def die_after_first_step(event: ExecutionEvent) -> None:
        if event.type is EventType.STEP_COMPLETE:
            os._exit(9)  # a crash: nothing after the step's commit runs

    container.feed.listen(die_after_first_step)
    run_id = await container.runs.start_run("review", {"Topic": "owls"})
    print(run_id, flush=True)
    await asyncio.sleep(60)
    raise SystemExit("the step never completed")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
