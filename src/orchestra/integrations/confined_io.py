"""Reading and writing workspace files for integrations, with the tools' confinement.

Integrations attach, render and embed files an agent names; every such path goes
through :class:`~orchestra.tools.workspace.Workspace` (relative, no ``..``, no symlink
followed, nothing written into ``.git/``) and a size limit, like ``files.read``.
"""

from __future__ import annotations

import os

from orchestra.tools.errors import WorkspacePathError
from orchestra.tools.workspace import Workspace


def read_bytes(workspace: Workspace, path: str, *, limit: int) -> bytes:
    """The bytes of ``path`` in ``workspace``; :class:`WorkspacePathError` past ``limit``."""
    with workspace.open_file(path, os.O_RDONLY) as fd:
        size = os.fstat(fd).st_size
        if size > limit:
            raise WorkspacePathError(
                f"{path!r} is {size} bytes, over the {limit}-byte limit; use a smaller file"
            )
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
    return b"".join(chunks)


def write_bytes(workspace: Workspace, path: str, data: bytes) -> int:
    """Create or replace ``path`` (parents created); never inside version-control metadata."""
    parts = workspace.split_writable(path)
    with workspace.open_file(
        parts, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, create_parents=True
    ) as fd:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    return len(data)


__all__ = ["read_bytes", "write_bytes"]
