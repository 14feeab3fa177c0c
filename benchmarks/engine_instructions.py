"""Instructions per engine step, counted by callgrind: a figure a busy machine cannot skew.

    uv run python benchmarks/engine_instructions.py [chain|fan] [CHECKOUT]

Wall-clock figures (benchmarks/engine.py) drift by tens of percent on a shared
machine; callgrind counts the instructions the interpreter executes, the same
on every run of the same code. The workload runs once and three times under
``valgrind --tool=callgrind``; the difference, per step, is the engine's work
for one step (set-up and imports cancel out). Pass another checkout (a git
worktree of an older commit, with its own ``.venv``) to print both side by side.
Needs valgrind (``apt-get install -y valgrind``); prints figures, asserts nothing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

WORKLOAD = """
import asyncio, sys
sys.path.insert(0, "benchmarks")
import engine as b
runs, kind = int(sys.argv[1]), sys.argv[2]
async def bench(eng):
    wf = b.chain(200) if kind == "chain" else b.fan(100)
    for _ in range(runs):
        await eng.drive(await eng.create_run(wf, {}))
    return ""
asyncio.run(b.with_engine(b.Instant(), bench))
"""
STEPS = {"chain": 200, "fan": 102}


def instructions(checkout: Path, runs: int, kind: str) -> int:
    python = checkout / ".venv" / "bin" / "python"
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            str(python),
            "-c",
            WORKLOAD,
            str(runs),
            kind,
        ],
        cwd=checkout,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},  # same hashing, same dict order, every run
    )
    if done.returncode != 0:
        raise SystemExit(f"the workload failed under callgrind:\n{done.stderr[-3000:]}")
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"callgrind printed no total:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_step(checkout: Path, kind: str) -> float:
    return (instructions(checkout, 3, kind) - instructions(checkout, 1, kind)) / 2 / STEPS[kind]


def main() -> None:
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is missing: apt-get install -y valgrind")
    kind = sys.argv[1] if len(sys.argv) > 1 else "chain"
    here = Path(__file__).resolve().parent.parent
    checkouts = [here] + [Path(p).resolve() for p in sys.argv[2:3]]
    for checkout in checkouts:
        print(
            f"{kind}: {per_step(checkout, kind):,.0f} instructions/step  ({checkout})", flush=True
        )


if __name__ == "__main__":
    main()
