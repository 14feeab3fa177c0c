from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ORCHESTRA = Path(sys.executable).parent / "orchestra"

RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def orchestra() -> RunCli:
    """Run the installed ``orchestra`` executable, as a user would."""

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        merged = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
        return subprocess.run(
            [str(ORCHESTRA), *args],
            cwd=cwd,
            env=merged,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    return run
