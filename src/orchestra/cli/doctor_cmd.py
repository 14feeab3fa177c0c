"""`orchestra doctor`: what this machine gives Orchestra — sandbox, Python, uv, MCP servers."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal

import typer

from orchestra.cli.project_opts import JsonOption, ProjectOption, project_root


def _version(argv: list[str]) -> str | None:
    exe = shutil.which(argv[0])
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, *argv[1:]], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (
        (done.stdout or done.stderr).strip().splitlines()[0]
        if (done.stdout or done.stderr)
        else None
    )


def doctor(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Report the sandbox in use (bubblewrap or limits only, and why), Python, uv and tool settings."""
    from orchestra.tools.sandbox import detect_sandbox

    root: Path = project_root(project)
    sandbox_pref: Literal["auto", "bwrap", "limits"] = "auto"
    settings_problem = None
    mcp_names: list[str] = []
    try:
        from orchestra.cli.tools_cmd import _tool_settings

        ts = _tool_settings(root)
        sandbox_pref = ts.sandbox
        mcp_names = [s.name for s in ts.mcp_servers]
    except Exception as exc:  # report, do not crash: doctor must work on a broken project
        settings_problem = f"{type(exc).__name__}: {exc}"
    status = detect_sandbox(sandbox_pref)
    report = {
        "sandbox": {
            "mode": status.mode,
            "reason": status.reason,
            "process_cap": status.process_cap,
            "cgroup_root": str(status.cgroup_root) if status.cgroup_root else None,
            "summary": status.describe(),
        },
        "bubblewrap": _version(["bwrap", "--version"]),
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "uv": _version(["uv", "--version"]),
        "platform": platform.platform(),
        "project": str(root),
        "mcp_servers": mcp_names,
        "settings_problem": settings_problem,
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    typer.echo(f"sandbox:      {status.describe()}")
    if status.mode != "bwrap":
        typer.echo(
            "              python/shell run with resource limits only: no filesystem or network isolation"
        )
    if status.process_cap == "none":
        typer.echo(
            "              warning: a fork bomb is stopped only by the timeout; run as a non-root user"
        )
    typer.echo(
        f"bubblewrap:   {report['bubblewrap'] or 'not installed (apt-get install bubblewrap)'}"
    )
    typer.echo(f"python:       {report['python']}")
    typer.echo(f"uv:           {report['uv'] or 'not found (needed for workspace virtualenvs)'}")
    typer.echo(f"platform:     {report['platform']}")
    typer.echo(f"project:      {root}")
    typer.echo(f"mcp servers:  {', '.join(mcp_names) or 'none configured'}")
    if settings_problem:
        typer.echo(f"settings:     could not load: {settings_problem}")
