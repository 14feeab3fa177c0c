"""What the per-file locks of shared workspaces cost a ``files.write`` call.

Prints the mean time of ``files.write`` (1 KB) through the registry, of one
``file_lock`` acquire/release alone, and of two processes each writing the same file
``N`` times at once (the lock serialising them)::

    uv run python benchmarks/file_locks.py [N]
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from orchestra.tools.builtin import register_builtins
from orchestra.tools.file_locks import file_lock
from orchestra.tools.protocol import ToolContext
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.workspace import Workspace

WRITER = """
import asyncio, json, sys
from pathlib import Path
from orchestra.tools.builtin import register_builtins
from orchestra.tools.protocol import ToolContext
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.workspace import Workspace

async def main():
    registry = ToolRegistry(); register_builtins(registry)
    ctx = ToolContext(workspace=Workspace(Path(sys.argv[1])))
    args = json.dumps({"path": "shared.txt", "content": sys.argv[2] * 1024})
    for _ in range(int(sys.argv[3])):
        await registry.call("files.write", args, ctx)

asyncio.run(main())
"""


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace.create(Path(tmp), "bench")
        registry = ToolRegistry()
        register_builtins(registry)
        ctx = ToolContext(workspace=workspace)
        args = json.dumps({"path": "out.txt", "content": "x" * 1024})
        await registry.call("files.write", args, ctx)
        start = time.perf_counter()
        for _ in range(n):
            await registry.call("files.write", args, ctx)
        write_s = (time.perf_counter() - start) / n
        start = time.perf_counter()
        for _ in range(n):
            with file_lock(workspace.root, ("out.txt",)):
                pass
        lock_s = (time.perf_counter() - start) / n
        start = time.perf_counter()
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", WRITER, str(workspace.root), letter, str(n)
            )
            for letter in "ab"
        ]
        for proc in procs:
            await proc.wait()
        both_s = time.perf_counter() - start
    print(f"files.write 1 KB, one writer: {write_s * 1e6:.0f} us/call (n={n})")
    print(f"file_lock acquire+release alone: {lock_s * 1e6:.1f} us")
    print(f"two processes x {n} writes of one file: {both_s:.2f} s wall (incl. start-up)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
