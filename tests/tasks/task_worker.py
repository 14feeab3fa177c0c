"""A process that works a project's task queue until it is idle (or is killed).

``python tests/tasks/task_worker.py PROJECT LOG``: the real container (engine, SQL
store, gateway) with one scripted model, ``scripted/slow``, that appends the first
line of each prompt it answers to LOG before answering, after a short delay; so the
kill test knows which steps were executed, by which process, in what order.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from orchestra.config import load_settings
from orchestra.llm.scripted import Reply, ScriptRegistry
from orchestra.runtime.container import Container, ContainerOptions


def scripts(log: Path) -> ScriptRegistry:
    def slow(messages: list[dict[str, Any]]) -> Reply:
        prompt = str([m for m in messages if m.get("role") == "user"][-1]["content"])
        line = next(part for part in prompt.splitlines() if part.startswith("Step "))
        with log.open("a") as out:
            out.write(f"{os.getpid()} {line}\n")
        return Reply(text=f"done: {line}", delay_s=0.15)

    registry = ScriptRegistry()
    registry.register("slow", slow)
    return registry


async def main(project: Path, log: Path) -> None:
    settings = load_settings(project, env={})
    container = await Container.open(
        settings, ContainerOptions(refresh_s=None, scripts=scripts(log))
    )
    try:
        service = container.tasks
        await service.sync_agents()
        while not await service.idle():
            await service.run_once()
            await asyncio.sleep(0.05)
    finally:
        await container.close()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
