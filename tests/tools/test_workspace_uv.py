"""Per-workspace virtual environments work after the README's setup, whose uv lands in
``~/.local/bin`` (pip --user) that ``PATH`` may lack (issue 14.5)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestra.tools.workspace import Workspace, find_uv


async def test_venv_without_uv_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("uv") is None:
        pytest.skip("uv is not installed here")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    if shutil.which("uv") is not None:
        pytest.skip("uv is in /usr/bin here: nothing to find")
    assert find_uv() is not None
    workspace = Workspace.create(tmp_path, "w1")
    python = await workspace.ensure_venv()
    assert python.exists()
