"""``files.*``: read, write, append, list, search and delete inside the workspace.

All paths are relative to the workspace root and go through
:class:`~orchestra.tools.workspace.Workspace`, which refuses ``..``, absolute
paths and every symlink (opened with ``O_NOFOLLOW`` relative to directory fds,
so a symlink swapped in mid-call is refused too). A workspace may be shared by several
agents: every change holds the file's exclusive lock and a read its shared lock
(:mod:`orchestra.tools.file_locks`), so two writers never mix one file. Write, append and delete also
refuse version-control metadata (``.git/``, ``.hg/``… see
:meth:`~orchestra.tools.workspace.Workspace.split_writable`). Sizes are bounded by
``file_size_mb``; output by the registry's ``output_limit_chars``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import shutil
import stat

from pydantic import BaseModel, Field

from orchestra.tools.errors import ToolArgumentsError, WorkspacePathError
from orchestra.tools.file_locks import file_lock
from orchestra.tools.protocol import Permission, Tool, ToolContext, tool

_MAX_LIST = 2000


class ReadArgs(BaseModel):
    path: str = Field(description="File path relative to the workspace, e.g. 'src/main.py'.")
    offset: int = Field(default=0, ge=0, description="Character offset to start reading at.")
    max_chars: int | None = Field(
        default=None, ge=1, description="Read at most this many characters."
    )


class WriteArgs(BaseModel):
    path: str = Field(
        description="File path relative to the workspace; parent folders are created."
    )
    content: str = Field(description="The full new content of the file.")


class AppendArgs(BaseModel):
    path: str = Field(description="File path relative to the workspace; created if missing.")
    content: str = Field(description="Text to add at the end of the file.")


class ListArgs(BaseModel):
    path: str = Field(
        default=".", description="Folder relative to the workspace ('.' is the root)."
    )
    pattern: str = Field(default="*", description="Glob on file names, e.g. '*.md'.")
    recursive: bool = Field(default=True, description="Descend into sub-folders.")


class SearchArgs(BaseModel):
    pattern: str = Field(description="Regular expression (Python syntax) to look for.")
    path: str = Field(default=".", description="Folder to search in, relative to the workspace.")
    glob: str = Field(default="*", description="Only search files whose name matches this glob.")
    ignore_case: bool = False
    max_matches: int = Field(default=200, ge=1, le=5000)


class DeleteArgs(BaseModel):
    path: str = Field(description="File or folder relative to the workspace.")
    recursive: bool = Field(default=False, description="Required to delete a non-empty folder.")


def _read_all(fd: int, limit: int) -> bytes:
    size = os.fstat(fd).st_size
    if size > limit:
        raise WorkspacePathError(
            f"file is {size} bytes, over the {limit}-byte limit; read part of it with offset/max_chars"
        )
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


@tool("files.read", permission=Permission.READ)
async def read_file(args: ReadArgs, ctx: ToolContext) -> str:
    """Read a text file from the workspace."""
    limit = ctx.settings.file_size_mb * 1024 * 1024

    def work() -> str:
        parts = ctx.workspace.split(args.path)
        with (
            file_lock(ctx.workspace.root, parts, shared=True),
            ctx.workspace.open_file(args.path, os.O_RDONLY) as fd,
        ):
            text = _read_all(fd, limit).decode("utf-8", errors="replace")
        end = args.offset + args.max_chars if args.max_chars else None
        return text[args.offset : end]

    return await asyncio.to_thread(work)


def _write(ctx: ToolContext, path: str, content: str, flags: int) -> int:
    data = content.encode("utf-8")
    if len(data) > ctx.settings.file_size_mb * 1024 * 1024:
        raise ToolArgumentsError(
            f"content is over the {ctx.settings.file_size_mb} MB file size limit"
        )
    parts = ctx.workspace.split_writable(path)
    with (
        file_lock(ctx.workspace.root, parts),
        ctx.workspace.open_file(parts, os.O_WRONLY | os.O_CREAT | flags, create_parents=True) as fd,
    ):
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    return len(data)


@tool("files.write", permission=Permission.WRITE)
async def write_file(args: WriteArgs, ctx: ToolContext) -> str:
    """Create or overwrite a text file in the workspace."""
    n = await asyncio.to_thread(_write, ctx, args.path, args.content, os.O_TRUNC)
    return f"wrote {n} bytes to {args.path}"


@tool("files.append", permission=Permission.WRITE)
async def append_file(args: AppendArgs, ctx: ToolContext) -> str:
    """Append text to a file in the workspace (created if missing)."""
    n = await asyncio.to_thread(_write, ctx, args.path, args.content, os.O_APPEND)
    return f"appended {n} bytes to {args.path}"


def _walk(ctx: ToolContext, path: str, recursive: bool) -> list[tuple[str, os.stat_result]]:
    """(relative path, lstat) of every entry under ``path``, never following symlinks."""
    parts = ctx.workspace.split(path)
    entries: list[tuple[str, os.stat_result]] = []
    with ctx.workspace.open_dir(parts) as dfd:
        dup = os.dup(dfd)
        try:
            for top, dirs, files, topfd in os.fwalk(".", dir_fd=dup, follow_symlinks=False):
                dirs[:] = sorted(d for d in dirs if d != ".venv") if recursive else []
                for name in sorted(files) + dirs:
                    rel = os.path.normpath(os.path.join(path, top, name))
                    entries.append((rel, os.stat(name, dir_fd=topfd, follow_symlinks=False)))
                    if len(entries) >= _MAX_LIST:
                        return entries
        finally:
            os.close(dup)
    return entries


@tool("files.list", permission=Permission.READ)
async def list_files(args: ListArgs, ctx: ToolContext) -> str:
    """List files and folders in the workspace (symlinks are shown, never followed)."""

    def work() -> str:
        lines = []
        for rel, st in _walk(ctx, args.path, args.recursive):
            if not fnmatch.fnmatch(os.path.basename(rel), args.pattern):
                continue
            if stat.S_ISDIR(st.st_mode):
                lines.append(f"{rel}/")
            elif stat.S_ISLNK(st.st_mode):
                lines.append(f"{rel} (symlink, not followed)")
            else:
                lines.append(f"{rel}  {st.st_size} bytes")
        return "\n".join(lines) if lines else "(no matching files)"

    return await asyncio.to_thread(work)


@tool("files.search", permission=Permission.READ)
async def search_files(args: SearchArgs, ctx: ToolContext) -> str:
    """Search workspace files for a regular expression (like grep -rn)."""
    try:
        regex = re.compile(args.pattern, re.IGNORECASE if args.ignore_case else 0)
    except re.error as exc:
        raise ToolArgumentsError(f"pattern is not a valid regular expression: {exc}") from exc
    limit = ctx.settings.file_size_mb * 1024 * 1024

    def work() -> str:
        hits: list[str] = []
        for rel, st in _walk(ctx, args.path, True):
            if not stat.S_ISREG(st.st_mode) or not fnmatch.fnmatch(
                os.path.basename(rel), args.glob
            ):
                continue
            if st.st_size > limit:
                continue
            with ctx.workspace.open_file(rel, os.O_RDONLY) as fd:
                data = _read_all(fd, limit)
            if b"\x00" in data[:8192]:
                continue  # binary
            for no, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
                if regex.search(line):
                    hits.append(f"{rel}:{no}: {line[:400]}")
                    if len(hits) >= args.max_matches:
                        hits.append(f"[stopped after {args.max_matches} matches]")
                        return "\n".join(hits)
        return "\n".join(hits) if hits else "(no matches)"

    return await asyncio.to_thread(work)


@tool("files.delete", permission=Permission.WRITE)
async def delete_file(args: DeleteArgs, ctx: ToolContext) -> str:
    """Delete a file, symlink or (with recursive=true) folder inside the workspace."""
    parts = ctx.workspace.split_writable(args.path)
    if not parts:
        raise WorkspacePathError("refusing to delete the workspace root")

    def work() -> str:
        with file_lock(ctx.workspace.root, parts), ctx.workspace.open_dir(parts[:-1]) as dfd:
            name = parts[-1]
            try:
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                raise WorkspacePathError(f"{args.path!r} does not exist") from None
            if stat.S_ISDIR(st.st_mode):
                if args.recursive:
                    shutil.rmtree(name, dir_fd=dfd)  # fd-based; does not follow symlinks
                else:
                    try:
                        os.rmdir(name, dir_fd=dfd)
                    except OSError:
                        raise WorkspacePathError(
                            f"folder {args.path!r} is not empty; pass recursive=true to delete it"
                        ) from None
            else:
                os.unlink(name, dir_fd=dfd)  # removes a symlink itself, never its target
        return f"deleted {args.path}"

    return await asyncio.to_thread(work)


TOOLS: tuple[Tool, ...] = (
    read_file,
    write_file,
    append_file,
    list_files,
    search_files,
    delete_file,
)
