"""Fixtures for the integration tools: a workspace, and a tool context per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra.tools.protocol import ToolContext, ToolSettings
from orchestra.tools.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.create(tmp_path / "workspaces", "run-1", title="test run")


@pytest.fixture
def ctx(workspace: Workspace) -> ToolContext:
    return ToolContext(workspace=workspace, settings=ToolSettings(), run_id="r1", agent="tester")
