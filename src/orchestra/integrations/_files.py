"""Writing workspace files so that a failure never leaves half a file."""

from __future__ import annotations

import contextlib
import os
import secrets

from orchestra.tools.workspace import Workspace


def write_atomic(ws: Workspace, path: str, data: bytes) -> None:
    """Replace ``path`` by ``data`` in one rename; parent folders are created."""
    parts = ws.split_writable(path)
    tmp = f".{parts[-1]}.{secrets.token_hex(4)}.tmp"
    with ws.open_dir(parts[:-1], create=True) as dfd:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dfd)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.rename(tmp, parts[-1], src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp, dir_fd=dfd)
            raise


__all__ = ["write_atomic"]
