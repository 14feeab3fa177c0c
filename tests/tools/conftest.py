"""Shared fixtures: a fresh workspace, default settings and a registry with the built-ins."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from orchestra.tools.builtin import register_builtins
from orchestra.tools.protocol import ToolContext, ToolSettings
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.workspace import Workspace


@pytest.fixture(scope="session", autouse=True)
def _bubblewrap() -> None:
    """The sandbox tests need bubblewrap; install it when apt is available (as the brief requires)."""
    if shutil.which("bwrap") is None and shutil.which("apt-get") is not None:
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "bubblewrap"], check=False, capture_output=True
        )


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "workspaces", "run-1", title="test run")


@pytest.fixture
def settings() -> ToolSettings:
    return ToolSettings(cpu_seconds=10, memory_mb=512, max_processes=32, python_timeout_s=20)


@pytest.fixture
def ctx(workspace: Workspace, settings: ToolSettings) -> ToolContext:
    return ToolContext(
        workspace=workspace, settings=settings, run_id="r1", step_id="s1", agent="tester"
    )


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()
    register_builtins(reg)
    return reg
