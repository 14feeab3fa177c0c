"""``python``: run a Python snippet in the workspace's virtualenv, sandboxed.

The code is sent on stdin to ``python -`` (the workspace's ``.venv`` interpreter
when it has one, else the interpreter running Orchestra) through
:func:`~orchestra.tools.sandbox.run_sandboxed`: inside bubblewrap there is no
network, the system is read-only and only the workspace is writable; the CPU,
memory, file-size and process-count limits and the wall-clock timeout apply in
every mode. ``python.install`` adds allowlisted packages to the workspace venv.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import BaseModel, Field

from orchestra.tools.builtin.shell import format_outcome, limits_for
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, tool
from orchestra.tools.sandbox import python_install_paths, run_sandboxed, sandbox_for


class PythonArgs(BaseModel):
    code: str = Field(
        description="Python source to run. Print what you want to see; files go in the workspace."
    )
    timeout_s: float | None = Field(
        default=None, gt=0, description="Shorter timeout than the default."
    )


class InstallArgs(BaseModel):
    packages: list[str] = Field(
        min_length=1,
        description="Package names (optionally with versions) from the project's allowlist.",
    )


@tool("python", permission=Permission.EXECUTE)
async def run_python(args: PythonArgs, ctx: ToolContext) -> ToolOutput:
    """Run Python code in a sandbox (no network, only the workspace writable, CPU/memory/process
    limits). Returns exit code, stdout and stderr."""
    settings = ctx.settings
    python = ctx.workspace.venv_python()
    if python is None and settings.venv:
        python = await ctx.workspace.ensure_venv()
    interpreter = Path(python) if python is not None else Path(sys.executable)
    timeout = min(args.timeout_s or settings.python_timeout_s, settings.python_timeout_s)
    out = await run_sandboxed(
        [str(interpreter), "-"],
        workspace=ctx.workspace.root,
        limits=limits_for(settings, timeout),
        status=sandbox_for(settings.sandbox),
        network=False,
        stdin=args.code.encode("utf-8"),
        readable=python_install_paths(interpreter),
        protect_vcs=True,
    )
    return format_outcome(out)


@tool("python.install", permission=Permission.NETWORK)
async def install_packages(args: InstallArgs, ctx: ToolContext) -> str:
    """Install packages into the workspace virtualenv (only those on the project's allowlist)."""
    await ctx.workspace.install(
        args.packages, ctx.settings.python_packages_allowlist, max_mb=ctx.settings.venv_max_mb
    )
    return f"installed {', '.join(args.packages)} into {ctx.workspace.venv_dir.name}"


TOOLS: tuple[Tool, ...] = (run_python, install_packages)
