"""``shell``: run one allowlisted program with arguments — argv only, never a shell.

Checks, in order, before anything runs:

1. the program is resolved the way ``execve`` would find it (``PATH`` is the
   fixed safe path; a name containing ``/`` is taken relative to the
   workspace), then ``realpath``'d; it must equal the realpath of a name in
   ``tools.shell_allowlist``. ``/bin/../bin/rm``, a symlink called ``ls`` or a
   copy of an allowed binary in the workspace all fail this;
2. interpreters and launchers (``sh``, ``python3``, ``env``, ``xargs``…) are
   refused even if allowlisted — code runs through the ``python`` tool;
3. per-command rules (``git``: no ``-c``/``--upload-pack``/``ext::``…;
   ``find``: no ``-exec``; ``tar``: no ``--to-command``…);
4. every argument that looks like a path must stay in the workspace (no
   absolute paths, no ``..``) — defence in depth under the sandbox;
5. programs that create or move files (``cp``, ``mv``, ``touch``, ``mkdir``…)
   may not name version-control metadata (``.git/``…), as ``files.write`` may not.

Arguments are passed to ``execve`` verbatim: ``;``, ``|``, ``$(…)``, ``*`` are
just characters. The program runs through :func:`~orchestra.tools.sandbox.run_sandboxed`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from pydantic import BaseModel, Field

from orchestra.tools.errors import CommandNotAllowedError
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, ToolSettings, tool
from orchestra.tools.sandbox import (
    SAFE_PATH,
    ProcessLimits,
    ProcessOutcome,
    run_sandboxed,
    sandbox_for,
)
from orchestra.tools.workspace import VCS_DIRS

NEVER_ALLOWED = frozenset(
    {
        "sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "busybox",
        "python", "python3", "perl", "ruby", "node", "php", "lua", "tclsh", "awk", "gawk", "mawk",
        "env", "xargs", "sudo", "su", "doas", "nohup", "setsid", "nice", "timeout", "chroot",
        "unshare", "nsenter", "bwrap", "ssh", "scp", "nc", "ncat", "socat", "curl", "wget",
    }
)  # fmt: skip
"""Programs that run other programs or code: use the ``python`` tool or ``http.fetch`` instead."""

_GIT_FORBIDDEN_FLAGS = (
    "-c", "--config-env", "--exec-path", "--upload-pack", "--receive-pack", "-u",
    "--template", "--git-dir", "--work-tree", "--namespace", "--super-prefix", "--ext-diff",
    "--run", "--exec", "-x", "--extcmd", "--tool", "-t",
)  # fmt: skip
_GIT_FORBIDDEN_SUBCOMMANDS = frozenset(
    {"config", "daemon", "instaweb", "web--browse", "send-email", "credential", "difftool",
     "mergetool", "filter-branch", "submodule", "bisect", "rebase", "upload-pack", "receive-pack",
     "shell", "remote-ext", "remote-fd", "archive", "bugreport", "help"}
)  # fmt: skip
_GIT_SAFE_CONFIG = (
    "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false", "-c", "protocol.ext.allow=never",
    "-c", "protocol.fd.allow=never", "-c", "core.sshCommand=false", "-c", "core.pager=cat",
    "-c", "core.editor=false", "-c", "diff.external=", "-c", "credential.helper=",
)  # fmt: skip


class ShellArgs(BaseModel):
    argv: list[str] = Field(
        min_length=1,
        description=(
            "Program and arguments as a list, e.g. ['git', 'status'] or ['grep', '-rn', 'TODO', 'src']. "
            "No shell: pipes, redirections and globs are not interpreted."
        ),
    )
    timeout_s: float | None = Field(
        default=None, gt=0, description="Shorter timeout than the default."
    )


def _git_rules(args: Sequence[str]) -> list[str]:
    sub = next((a for a in args if not a.startswith("-")), None)
    if sub in _GIT_FORBIDDEN_SUBCOMMANDS:
        raise CommandNotAllowedError(
            f"git {sub} is not allowed (it can run other programs or change git's config)"
        )
    for a in args:
        flag = a.split("=", 1)[0]
        if flag in _GIT_FORBIDDEN_FLAGS or (
            a.startswith("-c") and len(a) > 2 and not a.startswith("--")
        ):
            raise CommandNotAllowedError(
                f"git option {a!r} is not allowed (it can run other programs)"
            )
        if "::" in a or a.startswith(("ext:", "fd:")):
            raise CommandNotAllowedError(
                f"git transport in {a!r} is not allowed; use https:// URLs"
            )
    return [*_GIT_SAFE_CONFIG, *args]


def _find_rules(args: Sequence[str]) -> list[str]:
    for a in args:
        if a in ("-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprint0", "-fprintf", "-fls"):
            raise CommandNotAllowedError(
                f"find {a} is not allowed; list files and act on them with other tools"
            )
    return list(args)


def _tar_rules(args: Sequence[str]) -> list[str]:
    for a in args:
        flag = a.split("=", 1)[0]
        if flag in (
            "--to-command",
            "--checkpoint-action",
            "--use-compress-program",
            "-I",
            "--rsh-command",
            "--info-script",
            "--new-volume-script",
            "-F",
        ):
            raise CommandNotAllowedError(
                f"tar option {a!r} is not allowed (it runs other programs)"
            )
    return list(args)


ARGUMENT_RULES: dict[str, Callable[[Sequence[str]], list[str]]] = {
    "git": _git_rules,
    "find": _find_rules,
    "tar": _tar_rules,
}


def _allowed_programs(settings: ToolSettings) -> dict[str, str]:
    """realpath -> allowlisted name, for every allowlisted name found on the safe PATH."""
    allowed: dict[str, str] = {}
    for name in settings.shell_allowlist:
        found = shutil.which(name, path=SAFE_PATH)
        if found is not None and name not in NEVER_ALLOWED:
            allowed.setdefault(os.path.realpath(found), name)
    return allowed


def resolve_program(program: str, workspace: Path, settings: ToolSettings) -> tuple[str, str]:
    """Return (real path to execute, allowlisted name) or raise ``CommandNotAllowedError``."""
    listed = ", ".join(sorted(n for n in settings.shell_allowlist if n not in NEVER_ALLOWED))
    base = os.path.basename(program)
    if base in NEVER_ALLOWED:
        raise CommandNotAllowedError(
            f"{base!r} runs other programs or code and is never allowed in shell; "
            "use the python tool for code and http.fetch for downloads"
        )
    if "/" in program:
        candidate: str | None = program if os.path.isabs(program) else str(workspace / program)
        if candidate is not None and not (
            os.path.isfile(candidate) and os.access(candidate, os.X_OK)
        ):
            candidate = None
    else:
        candidate = shutil.which(program, path=SAFE_PATH)
    if candidate is None:
        raise CommandNotAllowedError(
            f"program {program!r} not found on {SAFE_PATH}; allowed: {listed}"
        )
    real = os.path.realpath(candidate)
    allowed = _allowed_programs(settings)
    if real not in allowed:
        raise CommandNotAllowedError(
            f"program {program!r} (resolves to {real}) is not on the shell allowlist; allowed: {listed}. "
            "Add it to tools.shell_allowlist if it is safe."
        )
    return real, allowed[real]


FILE_WRITERS = frozenset({"cp", "mv", "touch", "mkdir", "ln", "rm", "rmdir", "tee", "install"})
"""Programs whose path arguments may not reach version-control metadata."""


def check_arguments(name: str, args: Sequence[str]) -> list[str]:
    """Apply the per-command rules and the path rule; return the arguments to execute."""
    for a in args:
        if "\x00" in a:
            raise CommandNotAllowedError("arguments may not contain NUL bytes")
        value = a.split("=", 1)[1] if a.startswith("-") and "=" in a else a
        if value.startswith(("/", "~")):
            raise CommandNotAllowedError(
                f"argument {a!r} is an absolute path; use paths relative to the workspace"
            )
        parts = PurePosixPath(value).parts
        if ".." in parts:
            raise CommandNotAllowedError(f"argument {a!r} contains '..'; stay inside the workspace")
        if name in FILE_WRITERS and any(p.lower() in VCS_DIRS for p in parts):
            raise CommandNotAllowedError(
                f"argument {a!r} reaches version-control metadata; {name} may not change it "
                "(a hook or config there would run on the host). Use git commands instead."
            )
    rule = ARGUMENT_RULES.get(name)
    return rule(args) if rule else list(args)


def format_outcome(out: ProcessOutcome) -> ToolOutput:
    parts = [f"exit code: {out.exit_code}"]
    if out.limit:
        parts.append(f"stopped by limit: {out.limit}")
    if out.stdout:
        parts.append(f"--- stdout ---\n{out.stdout.rstrip()}")
    if out.stderr:
        parts.append(f"--- stderr ---\n{out.stderr.rstrip()}")
    if out.truncated:
        parts.append("[output capture limit reached; the rest was discarded]")
    return ToolOutput(
        text="\n".join(parts),
        data={"exit_code": out.exit_code, "limit": out.limit, "sandbox": out.sandbox},
        is_error=out.limit is not None,
    )


def limits_for(settings: ToolSettings, timeout_s: float) -> ProcessLimits:
    return ProcessLimits(
        cpu_seconds=settings.cpu_seconds,
        memory_mb=settings.memory_mb,
        file_size_mb=settings.file_size_mb,
        max_processes=settings.max_processes,
        timeout_s=timeout_s,
        output_limit_bytes=max(settings.output_limit_chars * 4, 4096),
    )


@tool("shell", permission=Permission.EXECUTE)
async def run_shell(args: ShellArgs, ctx: ToolContext) -> ToolOutput:
    """Run an allowlisted command (argv list, no shell) in the workspace with time, CPU,
    memory and process limits. Returns exit code, stdout and stderr."""
    settings = ctx.settings
    real, name = resolve_program(args.argv[0], ctx.workspace.root, settings)
    argv = [real, *check_arguments(name, args.argv[1:])]
    timeout = min(args.timeout_s or settings.shell_timeout_s, settings.shell_timeout_s)
    out = await run_sandboxed(
        argv,
        workspace=ctx.workspace.root,
        limits=limits_for(settings, timeout),
        status=sandbox_for(settings.sandbox),
        network=settings.shell_network,
        protect_vcs=name != "git",
    )
    return format_outcome(out)


TOOLS: tuple[Tool, ...] = (run_shell,)
