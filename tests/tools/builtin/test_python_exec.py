from __future__ import annotations

from pathlib import Path

import pytest

from orchestra.tools.protocol import ToolContext, ToolSettings
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.sandbox import detect_sandbox

FORK_BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""


async def test_runs_code_with_the_workspace_as_cwd(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    result = await registry.call(
        "python",
        {"code": "import os; open('output/x.txt','w').write('42'); print(os.getcwd())"},
        ctx,
    )
    assert result.ok, result.content
    assert str(ctx.workspace.root) in result.content
    assert (ctx.workspace.root / "output" / "x.txt").read_text() == "42"


async def test_fork_bomb_is_contained_and_reported(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    if detect_sandbox().process_cap == "none":
        pytest.skip("no process cap on this machine (root without pids cgroup); doctor reports it")
    settings = ToolSettings(max_processes=24, python_timeout_s=4, memory_mb=256)
    bomb_ctx = ToolContext(workspace=ctx.workspace, settings=settings)
    result = await registry.call("python", {"code": FORK_BOMB}, bomb_ctx)
    assert result.status == "error"
    assert result.data is not None
    assert "process limit (24 processes) reached" in str(result.data["limit"])
    # the machine still forks fine afterwards
    after = await registry.call("python", {"code": "print('alive')"}, ctx)
    assert "alive" in after.content


async def test_memory_hog_hits_the_memory_limit(registry: ToolRegistry, ctx: ToolContext) -> None:
    hog = ToolContext(workspace=ctx.workspace, settings=ToolSettings(memory_mb=256))
    result = await registry.call(
        "python", {"code": "x = bytearray(4 * 1024**3)\nprint('allocated')"}, hog
    )
    assert result.status == "error"
    assert "memory limit (256 MB) reached" in result.content
    assert "allocated" not in result.content.split("--- stderr ---")[0]


async def test_memory_hog_is_contained_in_limits_only_mode(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    hog = ToolContext(
        workspace=ctx.workspace, settings=ToolSettings(memory_mb=256, sandbox="limits")
    )
    result = await registry.call("python", {"code": "x = bytearray(4 * 1024**3)"}, hog)
    assert result.data is not None and result.data["sandbox"] == "limits"
    assert "memory limit (256 MB) reached" in result.content


async def test_sandbox_has_no_network_and_a_read_only_system(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    if detect_sandbox().mode != "bwrap":
        pytest.skip(
            "bubblewrap is not usable here; limits-only mode has no filesystem/network isolation"
        )
    code = """
import socket, os
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2)
    print("NET: connected")
except OSError as e:
    print("NET:", type(e).__name__)
try:
    open("/usr/pwned", "w")
    print("FS: wrote /usr")
except OSError as e:
    print("FS:", type(e).__name__)
print("HOME-VISIBLE:", os.path.exists("/root/.bashrc"))
"""
    result = await registry.call("python", {"code": code}, ctx)
    assert "NET: connected" not in result.content and "NET: " in result.content
    assert "FS: wrote" not in result.content and "FS: " in result.content
    assert "HOME-VISIBLE: False" in result.content
    assert not Path("/usr/pwned").exists()  # noqa: ASYNC240


async def test_cpu_time_limit_stops_a_busy_loop(registry: ToolRegistry, ctx: ToolContext) -> None:
    busy = ToolContext(
        workspace=ctx.workspace, settings=ToolSettings(cpu_seconds=1, python_timeout_s=30)
    )
    result = await registry.call("python", {"code": "while True: pass"}, busy)
    assert result.status == "error"
    assert "CPU time limit (1 s) reached" in result.content


async def test_python_cannot_change_version_control_metadata_in_the_sandbox(
    registry: ToolRegistry, ctx: ToolContext
) -> None:
    if detect_sandbox().mode != "bwrap":
        pytest.skip("the read-only .git bind needs bubblewrap; limits-only mode cannot stop it")
    root = ctx.workspace.root
    (root / ".git" / "hooks").mkdir(parents=True)
    (root / "src" / "lib" / ".git").mkdir(parents=True)
    code = """
for target in (".git/hooks/pre-commit", "src/lib/.git/config", "output/ok.txt"):
    try:
        with open(target, "w") as f:
            f.write("#!/bin/sh\\n")
        print("WROTE", target)
    except OSError as e:
        print("REFUSED", target, type(e).__name__)
"""
    result = await registry.call("python", {"code": code}, ctx)
    assert "REFUSED .git/hooks/pre-commit" in result.content
    assert "REFUSED src/lib/.git/config" in result.content
    assert "WROTE output/ok.txt" in result.content
    assert not (root / ".git" / "hooks" / "pre-commit").exists()
    assert not (root / "src" / "lib" / ".git" / "config").exists()
