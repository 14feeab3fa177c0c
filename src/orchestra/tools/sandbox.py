"""Run a program with resource limits, inside bubblewrap when it works here.

Layers, from strongest to always-present:

1. **bubblewrap** (``bwrap``): new user, PID, network, IPC, UTS and cgroup
   namespaces; the system directories (``/usr``, ``/lib``…, a few ``/etc``
   files, the Python installation) are bound read-only; the workspace is the
   only writable bind; ``/tmp`` is a private tmpfs; all capabilities dropped.
   When the sandbox leader dies every process in its PID namespace dies.
2. **pids cgroup** when we may create one (root with cgroup v1 ``pids`` or v2
   with the ``pids`` controller): a hard kernel cap on the number of processes.
   This is what stops a fork bomb when running as root, because the kernel does
   not enforce ``RLIMIT_NPROC`` for root — not even inside a user namespace
   whose ids map to root.
3. **rlimits** set in the child before exec: ``RLIMIT_CPU``, ``RLIMIT_AS``
   (memory), ``RLIMIT_FSIZE``, ``RLIMIT_NPROC`` (effective for non-root users),
   ``RLIMIT_CORE`` = 0.
4. **session kill**: the child starts a new session; on timeout or
   cancellation the whole process group is killed, and the cgroup (if any) is
   emptied.

The environment is always scrubbed to ``PATH``, ``HOME`` (the workspace),
``LANG`` and ``TMPDIR``: no API keys or tokens reach a tool's programs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from orchestra.tools.workspace import VCS_DIRS

SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
_ETC_FILES = (
    "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
    "/etc/ssl", "/etc/ca-certificates", "/etc/localtime", "/etc/nsswitch.conf",
    "/etc/hosts", "/etc/resolv.conf", "/etc/gitconfig", "/etc/mime.types",
)  # fmt: skip
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/opt")
_CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))

SandboxMode = Literal["bwrap", "limits"]


@dataclass(frozen=True)
class SandboxStatus:
    """Which isolation is active and why; what ``orchestra doctor`` prints."""

    mode: SandboxMode
    reason: str
    bwrap_path: str | None
    process_cap: Literal["cgroup", "rlimit", "none"]
    """How the process count is capped: pids cgroup, RLIMIT_NPROC (non-root), or not at all."""
    cgroup_root: Path | None = None

    def describe(self) -> str:
        caps = {
            "cgroup": "process count capped by a pids cgroup",
            "rlimit": "process count capped by RLIMIT_NPROC",
            "none": "process count NOT capped (root without a writable pids cgroup)",
        }[self.process_cap]
        return f"{self.mode}: {self.reason}; {caps}"


@dataclass(frozen=True)
class ProcessLimits:
    cpu_seconds: int = 30
    memory_mb: int = 1024
    file_size_mb: int = 64
    max_processes: int = 64
    timeout_s: float = 30.0
    output_limit_bytes: int = 64_000


@dataclass
class ProcessOutcome:
    """What happened to a sandboxed process. ``limit`` names the limit that stopped it."""

    exit_code: int | None
    stdout: str
    stderr: str
    limit: str | None = None
    truncated: bool = False
    sandbox: SandboxMode = "limits"
    notes: list[str] = field(default_factory=list)


# -- detection ---------------------------------------------------------------


def detect_sandbox(preference: Literal["auto", "bwrap", "limits"] = "auto") -> SandboxStatus:
    """Probe this machine once per preference (the result is cached for the process)."""
    return _detect(preference)


@functools.lru_cache(maxsize=4)
def _detect(preference: str) -> SandboxStatus:
    cgroup = _cgroup_root()
    if cgroup is not None:
        cap: Literal["cgroup", "rlimit", "none"] = "cgroup"
    else:
        cap = "rlimit" if os.geteuid() != 0 else "none"
    if preference == "limits":
        return SandboxStatus(
            "limits", "bubblewrap disabled by tools.sandbox = 'limits'", None, cap, cgroup
        )
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return SandboxStatus(
            "limits", "bubblewrap not installed (apt-get install bubblewrap)", None, cap, cgroup
        )
    true = os.path.realpath(shutil.which("true", path=SAFE_PATH) or "/bin/true")
    probe = [bwrap, *_bwrap_args(Path("/"), network=False, readable=()), "--", true]
    try:
        done = subprocess.run(
            probe, capture_output=True, timeout=10, check=False, env=_minimal_env(Path("/tmp"))
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxStatus("limits", f"bubblewrap failed to start: {exc}", None, cap, cgroup)
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
        return SandboxStatus(
            "limits", f"bubblewrap cannot create namespaces here: {why}", None, cap, cgroup
        )
    return SandboxStatus("bwrap", f"bubblewrap {bwrap} creates namespaces", bwrap, cap, cgroup)


def _cgroup_root() -> Path | None:
    if os.geteuid() != 0:
        return None  # RLIMIT_NPROC works for ordinary users
    for root in _CGROUP_ROOTS:
        if root == Path("/sys/fs/cgroup"):
            controllers = root / "cgroup.controllers"
            if not controllers.exists() or "pids" not in controllers.read_text().split():
                continue
        elif not (root / "pids.max").exists() and not (root / "cgroup.procs").exists():
            continue
        probe = root / f"orchestra-probe-{uuid.uuid4().hex[:8]}"
        try:
            probe.mkdir()
            probe.rmdir()
        except OSError:
            continue
        return root
    return None


# -- running -----------------------------------------------------------------


def _minimal_env(home: Path) -> dict[str, str]:
    return {"PATH": SAFE_PATH, "HOME": str(home), "LANG": "C.UTF-8", "TMPDIR": "/tmp"}


def _bwrap_args(
    workspace: Path, *, network: bool, readable: Sequence[Path], protect_vcs: bool = False
) -> list[str]:
    args = [
        "--unshare-all",
        "--unshare-user",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
    ]
    if network:
        args.append("--share-net")
    for d in _SYSTEM_DIRS:
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    for f in _ETC_FILES:
        if os.path.exists(f):
            args += ["--ro-bind", f, f]
    # The private /tmp comes before the extra binds: bwrap mounts in order, so
    # an interpreter or venv that lives under /tmp (a checkout there) must be
    # bound on top of the tmpfs, not hidden by it.
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for extra in readable:
        if extra.exists():
            args += ["--ro-bind", str(extra), str(extra)]
    if workspace != Path("/"):
        args += ["--bind", str(workspace), str(workspace), "--chdir", str(workspace)]
        for vcs in vcs_dirs(workspace) if protect_vcs else []:
            args += ["--ro-bind", str(vcs), str(vcs)]
    return args


def vcs_dirs(workspace: Path, max_depth: int = 3) -> list[Path]:
    """Version-control metadata folders in the top ``max_depth`` levels of ``workspace``
    (symlinks not followed; ``.venv`` and ``node_modules`` skipped)."""
    found: list[Path] = []
    base_depth = len(workspace.parts)
    for top, dirs, _files in os.walk(workspace, followlinks=False):
        here = Path(top)
        found += [here / d for d in dirs if d.lower() in VCS_DIRS]
        if len(here.parts) - base_depth >= max_depth - 1:
            dirs[:] = []
        else:
            dirs[:] = [
                d for d in dirs if d.lower() not in VCS_DIRS and d not in (".venv", "node_modules")
            ]
    return found


class _PidsCgroup:
    """A throw-away pids cgroup: caps the process count, lets us kill every member."""

    def __init__(self, root: Path, limit: int) -> None:
        self.path = root / f"orchestra-{uuid.uuid4().hex[:12]}"
        self.path.mkdir()
        (self.path / "pids.max").write_text(str(limit))

    def hit_limit(self) -> bool:
        with contextlib.suppress(OSError):
            for line in (self.path / "pids.events").read_text().splitlines():
                name, _, count = line.partition(" ")
                if name == "max" and int(count) > 0:
                    return True
        return False

    async def destroy(self) -> None:
        for _ in range(50):
            with contextlib.suppress(OSError):
                pids = (self.path / "cgroup.procs").read_text().split()
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(int(pid), signal.SIGKILL)
                if not pids:
                    self.path.rmdir()
                    return
            await asyncio.sleep(0.05)


def _preexec(limits: ProcessLimits, cgroup_procs: str | None) -> None:
    """Runs in the child between fork and exec: join the cgroup, then lower the rlimits."""
    if cgroup_procs is not None:
        with open(cgroup_procs, "w") as fh:
            fh.write(str(os.getpid()))
    mem = limits.memory_mb * 1024 * 1024
    fsize = limits.file_size_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


async def _read_capped(stream: asyncio.StreamReader | None, cap: int) -> tuple[bytes, bool]:
    if stream is None:
        return b"", False
    kept = bytearray()
    dropped = False
    while chunk := await stream.read(65536):
        room = cap - len(kept)
        if room > 0:
            kept += chunk[:room]
        if len(chunk) > max(room, 0):
            dropped = True
    return bytes(kept), dropped


async def run_sandboxed(
    argv: Sequence[str],
    *,
    workspace: Path,
    limits: ProcessLimits,
    status: SandboxStatus,
    network: bool = False,
    stdin: bytes | None = None,
    readable: Sequence[Path] = (),
    protect_vcs: bool = False,
) -> ProcessOutcome:
    """Run ``argv`` (no shell) with cwd = workspace under every available layer.

    ``readable`` lists extra host paths bound read-only inside bubblewrap (the
    Python installation for the ``python`` tool); ``protect_vcs`` binds the
    workspace's version-control folders (``.git``…, :func:`vcs_dirs`) read-only
    inside bubblewrap, so the program cannot plant hooks or config there. Never raises for what the
    program does; raises ``OSError`` only if it cannot be started at all.
    """
    full = list(argv)
    if status.mode == "bwrap" and status.bwrap_path:
        full = [
            status.bwrap_path,
            *_bwrap_args(workspace, network=network, readable=readable, protect_vcs=protect_vcs),
            "--",
            *argv,
        ]
    cgroup = _PidsCgroup(status.cgroup_root, limits.max_processes) if status.cgroup_root else None
    procs = str(cgroup.path / "cgroup.procs") if cgroup else None
    timed_out = False
    process_limit_hit = False
    try:
        proc = await asyncio.create_subprocess_exec(
            *full,
            cwd=workspace,
            env=_minimal_env(workspace),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            preexec_fn=functools.partial(_preexec, limits, procs),
        )
        if stdin is not None and proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.write(stdin)
                await proc.stdin.drain()
            proc.stdin.close()
        readers = asyncio.ensure_future(
            asyncio.gather(
                _read_capped(proc.stdout, limits.output_limit_bytes),
                _read_capped(proc.stderr, limits.output_limit_bytes),
                proc.wait(),
            )
        )
        try:
            done, _ = await asyncio.wait({readers}, timeout=limits.timeout_s)
            if not done:
                timed_out = True
                process_limit_hit = cgroup.hit_limit() if cgroup else False
                _kill_group(proc.pid)
                if cgroup:
                    await cgroup.destroy()
            (out, out_cut), (err, err_cut), _ = await readers
        except asyncio.CancelledError:
            _kill_group(proc.pid)
            readers.cancel()
            raise
        code = proc.returncode
        if cgroup and not timed_out:
            process_limit_hit = cgroup.hit_limit()
    finally:
        if cgroup:
            await cgroup.destroy()
    stdout = out.decode(errors="replace")
    stderr = err.decode(errors="replace")
    outcome = ProcessOutcome(
        code, stdout, stderr, truncated=out_cut or err_cut, sandbox=status.mode
    )
    outcome.limit = _which_limit(outcome, limits, timed_out=timed_out, pids=process_limit_hit)
    return outcome


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _which_limit(
    out: ProcessOutcome, limits: ProcessLimits, *, timed_out: bool, pids: bool
) -> str | None:
    """Name every limit that stopped or constrained the process, most decisive first."""
    code = out.exit_code
    # bubblewrap reports a signal-killed child as 128 + signal number.
    sig = -code if code is not None and code < 0 else (code - 128 if code and code > 128 else None)
    hits: list[str] = []
    if pids or "Resource temporarily unavailable" in out.stderr:
        hits.append(f"process limit ({limits.max_processes} processes) reached")
    if timed_out:
        hits.append(f"wall-clock timeout ({limits.timeout_s:g} s); every process was killed")
    if sig == signal.SIGXCPU:
        hits.append(f"CPU time limit ({limits.cpu_seconds} s) reached")
    if any(m in out.stderr for m in ("MemoryError", "Cannot allocate memory", "std::bad_alloc")):
        hits.append(f"memory limit ({limits.memory_mb} MB) reached")
    if sig == signal.SIGXFSZ or "File too large" in out.stderr:
        hits.append(f"file size limit ({limits.file_size_mb} MB) reached")
    return "; ".join(hits) or None


def python_install_paths(python: Path) -> list[Path]:
    """Host directories an interpreter needs read-only inside the sandbox."""
    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(os.path.realpath(python)).parent.parent}
    return sorted(paths)


def sandbox_for(preference: Literal["auto", "bwrap", "limits"]) -> SandboxStatus:
    """The sandbox to use; with ``preference='bwrap'`` refuse to fall back silently."""
    status = detect_sandbox(preference)
    if preference == "bwrap" and status.mode != "bwrap":
        from orchestra.tools.errors import ToolRuntimeError

        raise ToolRuntimeError(
            f"tools.sandbox = 'bwrap' but {status.reason}; install bubblewrap or set tools.sandbox = 'auto'"
        )
    return status
