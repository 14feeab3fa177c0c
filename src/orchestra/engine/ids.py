"""Typed identifiers shared by the engine and whatever implements its protocols."""

from __future__ import annotations

import os
import socket
import uuid
from typing import NewType

RunId = NewType("RunId", str)
StepId = NewType("StepId", str)


def new_run_id() -> RunId:
    """A sortable-enough, collision-free run id (32 hex chars)."""
    return RunId(uuid.uuid4().hex)


def idempotency_key(run_id: RunId, step_id: StepId) -> str:
    """The key a step's effects carry: the same for every attempt of (run, step)."""
    return f"{run_id}:{step_id}"


def new_owner() -> str:
    """A lease owner name: ``host:pid:token``, so a local crash can be detected by pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str | None) -> bool:
    """True when ``owner`` names a process on this host that no longer exists.

    Used to take over leases at once after ``kill -9`` instead of waiting for
    them to expire. Owners on other hosts are never declared dead here: their
    leases must expire.
    """
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
