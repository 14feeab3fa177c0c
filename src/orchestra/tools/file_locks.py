"""Per-file locks for workspaces that several agents share.

Agents of one run (parallel steps) or of one task group (a delegated task works in
its parent's folder, see ``runtime/tasks.py``) write to the same workspace, maybe
from different processes (Celery workers on one machine). ``files.write`` truncates
and then writes, so two writers of one file at once can leave half of each; a reader
can see half a write. Every ``files.*`` change therefore holds an exclusive lock on the
file, and ``files.read`` a shared one.

The locks are ``flock`` locks on small lock files kept *beside* the workspace, in
``<parent>/.locks/<workspace name>/<sha256 of the path>.lock``, never inside it: the
agents cannot delete or replace them, and they do not show in ``files.list``. ``flock``
is per open file description, so it serialises threads of one process as well as
processes, and the kernel drops it when a process dies: a crashed agent never leaves a
file locked. A lock that cannot be had within ``timeout_s`` is a retryable error.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from orchestra.tools.errors import ToolRuntimeError

LOCK_TIMEOUT_S = 30.0
_POLL_S = 0.01


class FileLockTimeout(ToolRuntimeError):
    """Another agent held the file for longer than the lock timeout."""

    retryable = True


def lock_path(root: Path, parts: Sequence[str]) -> Path:
    """The lock file of the workspace file ``parts`` under the workspace ``root``."""
    key = hashlib.sha256("/".join(parts).encode("utf-8")).hexdigest()
    return root.parent / ".locks" / root.name / f"{key}.lock"


@contextlib.contextmanager
def file_lock(
    root: Path, parts: Sequence[str], *, shared: bool = False, timeout_s: float = LOCK_TIMEOUT_S
) -> Iterator[None]:
    """Hold the lock of one workspace file (shared for readers) while the block runs.

    Blocking calls: run it in a worker thread (the ``files.*`` tools do)."""
    path = lock_path(root, parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise FileLockTimeout(
                        f"{'/'.join(parts)!r} is being written by another agent for over "
                        f"{timeout_s:g}s; try again"
                    ) from None
                time.sleep(_POLL_S)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
