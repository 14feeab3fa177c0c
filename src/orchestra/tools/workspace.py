"""Per-run (later per-task) workspaces and the path rules that confine tools to them.

A workspace is a directory ``<project>/.orchestra/workspaces/<id>/`` holding
``src/``, ``output/``, ``research/`` and a ``README.md`` progress log, plus an
optional ``.venv`` made with ``uv venv`` into which only allowlisted packages are
installed.

Confinement contract (what ``files.*`` rely on):

* a tool path is *relative*, has no ``..`` component, no NUL byte, and is not
  absolute — refused lexically, before touching the disk;
* it is then opened component by component with ``openat``-style calls
  (``dir_fd``) and ``O_NOFOLLOW``: no symlink anywhere on the path is followed,
  even one created between a check and a use (no TOCTOU window), so a symlink
  pointing outside can never be crossed. Symlinks inside the workspace are
  listed but not followed;
* tools that change files (``files.write``, ``append``, ``delete``) may not touch
  version-control metadata (:data:`VCS_DIRS`, any path component, any case):
  a hook or config written into ``.git/`` would run on the host the next time
  someone uses git in the workspace (:meth:`Workspace.split_writable`).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import stat
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from orchestra.tools.errors import (
    PackageNotAllowedError,
    ToolRuntimeError,
    WorkspacePathError,
)

SUBDIRS = ("src", "output", "research")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs", ".jj"})
"""Version-control metadata folders (lower case); changing files in them is refused."""
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class Workspace:
    """A directory that tools may read and write, and nothing outside it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))
        if not self.root.is_dir():
            raise WorkspacePathError(
                f"workspace {self.root} does not exist; create it with Workspace.create()"
            )

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    @classmethod
    def create(cls, parent: Path, workspace_id: str, *, title: str = "") -> Workspace:
        """Create (or reopen) ``parent/<workspace_id>`` with the standard layout."""
        if not _ID_RE.match(workspace_id):
            raise WorkspacePathError(
                f"workspace id {workspace_id!r} must be letters, digits, '.', '_' or '-'"
            )
        root = parent / workspace_id
        root.mkdir(parents=True, exist_ok=True)
        for sub in SUBDIRS:
            (root / sub).mkdir(exist_ok=True)
        readme = root / "README.md"
        if not readme.exists():
            readme.write_text(
                f"# Workspace {workspace_id}\n\n{title}\n\n"
                "`src/` code, `output/` deliverables, `research/` notes and downloads.\n\n"
                "## Progress\n\n",
                encoding="utf-8",
            )
        return cls(root)

    def log_progress(self, line: str) -> None:
        """Append a timestamped line to the README's progress section."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        with self.open_file("README.md", os.O_WRONLY | os.O_APPEND | os.O_CREAT) as fd:
            os.write(fd, f"- {stamp} {line.strip()}\n".encode())

    # -- path confinement -------------------------------------------------

    @staticmethod
    def split(path: str) -> tuple[str, ...]:
        """Lexically check a tool path and return its components ('' or '.' = the root)."""
        if "\x00" in path:
            raise WorkspacePathError("path contains a NUL byte; use a plain relative path")
        if path.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:", path):
            raise WorkspacePathError(
                f"absolute path {path!r} refused; use a path relative to the workspace, "
                "e.g. 'output/report.md'"
            )
        parts = tuple(p for p in PurePosixPath(path).parts if p not in ("", "."))
        if ".." in parts:
            raise WorkspacePathError(
                f"path {path!r} contains '..'; paths must stay inside the workspace"
            )
        return parts

    @classmethod
    def split_writable(cls, path: str) -> tuple[str, ...]:
        """Like :meth:`split`, and refuse paths into version-control metadata (``.git/``…)."""
        parts = cls.split(path)
        vcs = next((p for p in parts if p.lower() in VCS_DIRS), None)
        if vcs is not None:
            raise WorkspacePathError(
                f"path {path!r} is inside {vcs}/, version-control metadata; tools may not "
                f"change it (a hook or config written there would run on the host). Write "
                "elsewhere in the workspace, and use the shell tool's git commands for "
                "version control."
            )
        return parts

    @contextmanager
    def open_dir(self, parts: Sequence[str], *, create: bool = False) -> Iterator[int]:
        """Yield an fd for the directory ``parts`` without following any symlink."""
        fd = os.open(self.root, _DIR_FLAGS)
        try:
            for i, name in enumerate(parts):
                try:
                    nxt = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise WorkspacePathError(
                            f"directory {'/'.join(parts[: i + 1])!r} does not exist; "
                            "list the workspace with files.list"
                        ) from None
                    os.mkdir(name, 0o755, dir_fd=fd)
                    nxt = os.open(name, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    raise self._nofollow_error(parts[: i + 1], exc) from exc
                os.close(fd)
                fd = nxt
            yield fd
        finally:
            os.close(fd)

    @contextmanager
    def open_file(
        self, path: str | Sequence[str], flags: int, *, create_parents: bool = False
    ) -> Iterator[int]:
        """Yield an fd for a regular file inside the workspace; symlinks are refused."""
        parts = self.split(path) if isinstance(path, str) else tuple(path)
        if not parts:
            raise WorkspacePathError("a file path is required, not the workspace root")
        with self.open_dir(parts[:-1], create=create_parents) as dfd:
            try:
                fd = os.open(parts[-1], flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dfd)
            except FileNotFoundError:
                raise WorkspacePathError(
                    f"file {'/'.join(parts)!r} does not exist; list the workspace with files.list"
                ) from None
            except IsADirectoryError:
                raise WorkspacePathError(
                    f"{'/'.join(parts)!r} is a directory, not a file"
                ) from None
            except OSError as exc:
                raise self._nofollow_error(parts, exc) from exc
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise WorkspacePathError(f"{'/'.join(parts)!r} is not a regular file")
                yield fd
            finally:
                os.close(fd)

    @staticmethod
    def _nofollow_error(parts: Sequence[str], exc: OSError) -> WorkspacePathError:
        shown = "/".join(parts)
        if exc.errno in (40, 20):  # ELOOP (symlink with O_NOFOLLOW), ENOTDIR (symlink as dir)
            return WorkspacePathError(
                f"{shown!r} is or crosses a symlink; tools do not follow symlinks "
                "(they could lead outside the workspace)"
            )
        return WorkspacePathError(f"cannot open {shown!r}: {exc.strerror}")

    def host_path(self, path: str) -> Path:
        """Absolute host path for a lexically valid tool path (for cwd and display only)."""
        return self.root.joinpath(*self.split(path))

    # -- virtualenv -----------------------------------------------------------

    @property
    def venv_dir(self) -> Path:
        return self.root / ".venv"

    def venv_python(self) -> Path | None:
        candidate = self.venv_dir / "bin" / "python"
        return candidate if candidate.exists() else None

    async def ensure_venv(self) -> Path:
        """Create ``.venv`` with ``uv venv`` if missing; return its interpreter."""
        existing = self.venv_python()
        if existing is not None:
            return existing
        await _run_uv(["venv", "--quiet", str(self.venv_dir)], cwd=self.root)
        created = self.venv_python()
        if created is None:
            raise ToolRuntimeError(
                f"uv venv did not create {self.venv_dir}; run it by hand to see why"
            )
        return created

    async def install(
        self, packages: Sequence[str], allowlist: Sequence[str], *, max_mb: float | None = None
    ) -> None:
        """Install allowlisted packages into the workspace venv (created if needed); an
        install that grows the venv past ``max_mb`` is undone and refused."""
        allowed = {_normalise(p) for p in allowlist}
        for spec in packages:
            name = _requirement_name(spec)
            if _normalise(name) not in allowed:
                raise PackageNotAllowedError(
                    f"package {spec!r} is not in tools.python_packages_allowlist "
                    f"(allowed: {', '.join(sorted(allowed)) or 'none'}); ask the project owner to add it"
                )
        python = await self.ensure_venv()
        await _run_uv(
            ["pip", "install", "--quiet", "--python", str(python), *packages], cwd=self.root
        )
        size_mb = _tree_bytes(self.venv_dir) / 1e6
        if max_mb is not None and size_mb > max_mb:
            names = [_requirement_name(spec) for spec in packages]
            await _run_uv(["pip", "uninstall", "--python", str(python), *names], cwd=self.root)
            raise ToolRuntimeError(
                f"installing {', '.join(packages)} grew the workspace venv to {size_mb:.0f} MB, "
                f"over the {max_mb:g} MB limit (tools.venv_max_mb); it was uninstalled again"
            )

    def remove(self) -> None:
        """Delete the workspace (end of a throw-away run)."""
        shutil.rmtree(self.root)


def _tree_bytes(root: Path) -> int:
    """Bytes of the files under ``root``; links are counted, never followed."""
    total = 0
    for parent, _dirs, files in os.walk(root, followlinks=False):
        for name in files:
            total += os.lstat(os.path.join(parent, name)).st_size
    return total


_REQ_RE = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*((==|>=|<=|~=|<|>|!=)\s*[\w.*+!-]+\s*,?\s*)*$"
)


def _requirement_name(spec: str) -> str:
    """The distribution name of a simple requirement; URLs, paths and options are refused."""
    match = _REQ_RE.match(spec)
    if not match:
        raise PackageNotAllowedError(
            f"requirement {spec!r} refused: give a package name with an optional version, e.g. 'rich>=13'"
        )
    return match.group(1)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def find_uv() -> str | None:
    """The ``uv`` executable: on ``PATH``, else where the README's setup puts it when
    ``PATH`` lacks it — ``pip install --user uv`` (``~/.local/bin``), next to this
    interpreter (a virtual environment's ``bin``), or the ``uv`` package's own binary."""
    found = shutil.which("uv")
    if found:
        return found
    import sysconfig

    folders = [sysconfig.get_path("scripts", f"{os.name}_user"), str(Path(sys.executable).parent)]
    for folder in folders:
        found = shutil.which("uv", path=folder)
        if found:
            return found
    try:
        from uv import find_uv_bin  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return str(find_uv_bin())
    except FileNotFoundError:
        return None


async def _run_uv(args: list[str], cwd: Path) -> None:
    uv = find_uv()
    if uv is None:
        raise ToolRuntimeError(
            "uv is not installed (not on PATH, in ~/.local/bin or next to Python); install "
            "it (https://docs.astral.sh/uv/) or set workspaces.venv = false"
        )
    proc = await asyncio.create_subprocess_exec(
        uv, *args, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise ToolRuntimeError(f"uv {args[0]} failed: {err.decode(errors='replace')[-800:]}")
