"""Shared workspaces: two agents in two processes write one file at once through
``files.write`` (one of them through the run link a delegated task gets); with the
per-file locks no read ever sees a mix of the two versions, and the lock files stay
outside the workspace."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from orchestra.tasks.workspace import share_workspace
from orchestra.tools.file_locks import lock_path
from orchestra.tools.workspace import Workspace
from tests.tools.lock_writer import LETTERS, whole

ROUNDS = 25


async def _writer(folder: Path, letter: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.tools.lock_writer",
        str(folder),
        letter,
        str(ROUNDS),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    assert process.stdout is not None
    assert (await process.stdout.readline()).strip() == b"ready"
    return process


async def test_two_agents_writing_one_file_at_once_never_mix_it(tmp_path: Path) -> None:
    root = tmp_path / "workspaces"
    parent = Workspace.create(root, "parent-run")
    # The child run's workspace is a link to its parent's, as for a delegated task.
    shared = share_workspace(root, "parent-run", "child-run")
    assert shared.root == parent.root
    assert Workspace(root / "child-run").root == parent.root

    writers = [
        await _writer(root / "parent-run", "a"),
        await _writer(root / "child-run", "b"),
    ]
    for process in writers:  # both start at once
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        await process.stdin.drain()
    reports = []
    for process in writers:
        out, _ = await process.communicate()
        assert process.returncode == 0, out
        reports.append(json.loads(out.decode().strip().splitlines()[-1]))

    assert reports == [{"torn": 0, "rounds": ROUNDS}] * 2
    final = (parent.root / "output" / "shared.txt").read_text()
    assert whole(final)
    assert len(final) in LETTERS.values()
    # The locks live beside the workspace, never inside it.
    lock = lock_path(parent.root, ("output", "shared.txt"))
    assert lock.exists()
    assert parent.root not in lock.parents
    assert not any(".lock" in name for _, _, files in os.walk(parent.root) for name in files)
