"""Files over HTTP: list, download and upload the files of a task's or a run's workspace.

``/api/v1/workspaces/{tasks|runs}/{id}/files[/{path}]``. Viewers list and
download; operators upload (``PUT`` with the file as the body) and delete.
Paths go through the tools' confinement
(:class:`~orchestra.tools.workspace.Workspace`: relative, no ``..``, no symlink
anywhere on the path, nothing written into ``.git/`` or ``.venv/``). Uploads are
limited to ``[workspaces] upload_max_mb`` while they stream (the API's general
body limit does not apply to this prefix), must have an extension from
``[workspaces] upload_types``, and their content must match it: text types must
be UTF-8, binary types must start with their format's signature (a ``.png``
that is not a PNG is refused). A file is written under a temporary name and
renamed into place, so a refused or broken upload leaves nothing behind.
Downloads are sent as attachments with ``X-Content-Type-Options: nosniff`` so a
browser never renders an agent's HTML or SVG in the API's origin.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import mimetypes
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from orchestra.api.deps import Operator, Services, Viewer, audit
from orchestra.api.errors import ApiError, not_found
from orchestra.api.routes import ERRORS
from orchestra.engine.ids import RunId
from orchestra.runtime.container import Container
from orchestra.tasks.workspace import task_workspace_dir
from orchestra.tools.errors import WorkspacePathError
from orchestra.tools.workspace import Workspace

UPLOAD_PREFIX = "/api/v1/workspaces/"
router = APIRouter(prefix="/workspaces", tags=["workspaces"], responses=ERRORS)
Kind = Literal["tasks", "runs"]

_TEXT = frozenset(
    {"txt", "md", "csv", "tsv", "json", "jsonl", "yaml", "yml", "toml", "xml", "html", "py",
     "js", "ts", "sql", "log", "svg"}
)  # fmt: skip
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
    "webp": (b"RIFF",),
    "zip": (b"PK\x03\x04", b"PK\x05\x06"),
    "xlsx": (b"PK\x03\x04",),
    "docx": (b"PK\x03\x04",),
    "pptx": (b"PK\x03\x04",),
}
_NO_UPLOAD = frozenset({".venv"})


class WorkspaceFile(BaseModel):
    path: str
    size: int


class WorkspaceFiles(BaseModel):
    kind: Kind
    id: str
    files: list[WorkspaceFile]


class Uploaded(BaseModel):
    path: str
    size: int
    content_type: str


def _bad(code: str, message: str, status: int = 422) -> ApiError:
    return ApiError(status, code, message)


async def _folder(services: Container, kind: Kind, item_id: str) -> Path:
    """The workspace folder of a task or run (404 when the task or run does not exist).
    A delegated task shares the folder of the run that delegated it (see
    ``TaskService._prepare_workspace``), so both pages show the same files."""
    root = Path(services.settings.workspaces.root)
    if kind == "runs":
        await services.runs.get(RunId(item_id))  # 404 for an unknown run
        return root / item_id
    row = await services.tasks.tasks.get(item_id)
    if row.parent_run_id is not None:  # delegated: it works in its parent run's folder
        return root / row.parent_run_id
    if row.agent is None:
        raise ApiError(
            409,
            "not_assigned",
            f"task {item_id} has no agent yet, so no workspace; retry once it is assigned",
        )
    return task_workspace_dir(root, row.agent, row.id)


def _open(folder: Path, create: bool, item: str) -> Workspace:
    if folder.is_dir():
        return Workspace(folder)
    if not create:
        raise not_found(f"{item} has no workspace yet (no step has used one)")
    return Workspace.create(folder.parent, folder.name)


def _parts(path: str, *, writable: bool) -> tuple[str, ...]:
    try:
        parts = Workspace.split_writable(path) if writable else Workspace.split(path)
    except WorkspacePathError as exc:
        raise _bad("bad_path", exc.message) from exc
    if not parts:
        raise _bad("bad_path", "name a file, e.g. 'research/brief.pdf'")
    if writable and parts[0] in _NO_UPLOAD:
        raise _bad("bad_path", f"{path!r} is inside {parts[0]}/, which uploads may not change")
    return parts


@router.get("/{kind}/{item_id}/files", response_model=WorkspaceFiles)
async def list_files(kind: Kind, item_id: str, who: Viewer, services: Services) -> WorkspaceFiles:
    """The workspace's files (``.venv`` left out; links listed, never followed)."""
    folder = await _folder(services, kind, item_id)
    found = await asyncio.to_thread(_walk, folder)
    return WorkspaceFiles(
        kind=kind, id=item_id, files=[WorkspaceFile(path=p, size=s) for p, s in found]
    )


def _walk(folder: Path, limit: int = 500) -> list[tuple[str, int]]:
    """Like :func:`orchestra.tasks.workspace.list_task_files`, for any workspace folder
    (a run's may be a link to its task's: the walk starts from the resolved folder)."""
    if not folder.is_dir():
        return []
    folder = Workspace(folder).root
    found: list[tuple[str, int]] = []
    for parent, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not (parent == str(folder) and d == ".venv"))
        for name in sorted(files):
            path = Path(parent) / name
            found.append((path.relative_to(folder).as_posix(), path.lstat().st_size))
            if len(found) >= limit:
                return found
    return found


@router.get("/{kind}/{item_id}/files/{path:path}")
async def download(
    kind: Kind, item_id: str, path: str, who: Viewer, services: Services
) -> StreamingResponse:
    """One file of the workspace, as an attachment."""
    folder = await _folder(services, kind, item_id)
    workspace = _open(folder, False, f"{kind[:-1]} {item_id}")
    parts = _parts(path, writable=False)
    try:
        with workspace.open_file(parts, os.O_RDONLY) as fd:
            handle = os.dup(fd)
    except WorkspacePathError as exc:
        status = 404 if "does not exist" in exc.message else 422
        raise ApiError(status, "not_found" if status == 404 else "bad_path", exc.message) from exc
    size = os.fstat(handle).st_size

    async def body() -> AsyncIterator[bytes]:
        try:
            while chunk := await asyncio.to_thread(os.read, handle, 1 << 16):
                yield chunk
        finally:
            os.close(handle)

    name = parts[-1]
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    quoted = name.replace("\\", "_").replace('"', "_")
    return StreamingResponse(
        body(),
        media_type=media,
        headers={
            "Content-Length": str(size),
            "Content-Disposition": f'attachment; filename="{quoted}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


@router.put("/{kind}/{item_id}/files/{path:path}", response_model=Uploaded, status_code=201)
async def upload(
    kind: Kind, item_id: str, path: str, request: Request, who: Operator, services: Services
) -> Uploaded:
    """Write the request body to ``path`` (created or replaced) after checking its size and type."""
    settings = services.settings.workspaces
    parts = _parts(path, writable=True)
    extension = parts[-1].rsplit(".", 1)[-1].lower() if "." in parts[-1] else ""
    if extension not in settings.upload_types:
        raise _bad(
            "bad_type",
            f"{parts[-1]!r}: files of type {extension or '(none)'!r} may not be uploaded; allowed: "
            f"{', '.join(settings.upload_types)} ([workspaces] upload_types)",
            415,
        )
    limit = int(settings.upload_max_mb * 1_000_000)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    folder = await _folder(services, kind, item_id)
    workspace = await asyncio.to_thread(_open, folder, True, f"{kind[:-1]} {item_id}")
    checker = _TypeCheck(extension, parts[-1])
    tmp = f".{parts[-1]}.{secrets.token_hex(4)}.upload"
    try:
        with workspace.open_dir(parts[:-1], create=True) as dfd:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dfd
            )
            size = 0
            try:
                try:
                    async for chunk in request.stream():
                        size += len(chunk)
                        if size > limit:
                            raise _too_large(limit)
                        checker.feed(chunk)
                        await asyncio.to_thread(os.write, fd, chunk)
                finally:
                    os.close(fd)
                checker.finish()
                os.rename(tmp, parts[-1], src_dir_fd=dfd, dst_dir_fd=dfd)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp, dir_fd=dfd)
                raise
    except WorkspacePathError as exc:
        raise _bad("bad_path", exc.message) from exc
    except IsADirectoryError as exc:
        raise _bad("bad_path", f"{path!r} is a directory") from exc
    shown = "/".join(parts)
    await audit(services, who, "workspace.upload", f"{kind}/{item_id}/{shown}", {"bytes": size})
    media = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
    return Uploaded(path=shown, size=size, content_type=media)


@router.delete("/{kind}/{item_id}/files/{path:path}", status_code=204)
async def delete(kind: Kind, item_id: str, path: str, who: Operator, services: Services) -> None:
    """Delete one file (never a folder, never inside ``.git/`` or ``.venv/``)."""
    parts = _parts(path, writable=True)
    folder = await _folder(services, kind, item_id)
    workspace = _open(folder, False, f"{kind[:-1]} {item_id}")
    try:
        with workspace.open_file(parts, os.O_RDONLY):
            pass  # a regular file reached without any link
        with workspace.open_dir(parts[:-1]) as dfd:
            os.unlink(parts[-1], dir_fd=dfd)
    except WorkspacePathError as exc:
        status = 404 if "does not exist" in exc.message else 422
        raise ApiError(status, "not_found" if status == 404 else "bad_path", exc.message) from exc
    await audit(services, who, "workspace.delete", f"{kind}/{item_id}/{'/'.join(parts)}")


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "payload_too_large",
        f"the file is larger than {limit} bytes ([workspaces] upload_max_mb)",
        {"limit_bytes": limit},
    )


class _TypeCheck:
    """Checks, while the upload streams, that the content is what its extension says."""

    def __init__(self, extension: str, name: str) -> None:
        self.extension = extension
        self.name = name
        self.head = b""
        self.text = extension in _TEXT
        self.decoder = codecs.getincrementaldecoder("utf-8")() if self.text else None

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < 16:
            self.head += chunk[: 16 - len(self.head)]
        if self.decoder is not None:
            try:
                self.decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise self._mismatch("is not UTF-8 text") from exc
            if b"\x00" in chunk:
                raise self._mismatch("contains NUL bytes, so it is not text")

    def finish(self) -> None:
        if self.decoder is not None:
            try:
                self.decoder.decode(b"", final=True)
            except UnicodeDecodeError as exc:
                raise self._mismatch("ends inside a UTF-8 character") from exc
            return
        signatures = _SIGNATURES.get(self.extension)
        if signatures and not any(self.head.startswith(sig) for sig in signatures):
            raise self._mismatch(f"does not start like a .{self.extension} file")

    def _mismatch(self, why: str) -> ApiError:
        return ApiError(
            415, "bad_type", f"{self.name!r} {why}; upload a real .{self.extension} file"
        )
