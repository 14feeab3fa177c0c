"""One agent of a shared workspace, as its own process: writes its own version of one
file over and over through ``files.write`` and reads the file back through
``files.read`` after each write; prints how many reads were not one whole version.

``python -m tests.tools.lock_writer FOLDER LETTER SIZE ROUNDS``
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from orchestra.tools.builtin import register_builtins
from orchestra.tools.protocol import ToolContext, ToolSettings
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.workspace import Workspace

LETTERS = {"a": 3_000_000, "b": 700_000}
"""Each writer's version: a different letter and length, so a mix is visible."""


def whole(text: str) -> bool:
    return any(text == letter * size for letter, size in LETTERS.items())


async def main(folder: Path, letter: str, rounds: int) -> None:
    registry = ToolRegistry()
    register_builtins(registry)
    settings = ToolSettings(output_limit_chars=10_000_000)
    ctx = ToolContext(workspace=Workspace(folder), settings=settings, agent=f"writer-{letter}")
    content = json.dumps({"path": "output/shared.txt", "content": letter * LETTERS[letter]})
    read = json.dumps({"path": "output/shared.txt"})
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    torn = 0
    for _ in range(rounds):
        wrote = await registry.call("files.write", content, ctx)
        assert wrote.status == "ok", wrote.content
        got = await registry.call("files.read", read, ctx)
        assert got.status == "ok", got.content
        torn += not whole(got.content)
    print(json.dumps({"torn": torn, "rounds": rounds}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
