"""bubblewrap binds: what lives under /tmp on the host stays visible inside."""

from __future__ import annotations

import shutil
from pathlib import Path

from orchestra.tools.sandbox import ProcessLimits, detect_sandbox, run_sandboxed


async def test_readable_paths_under_tmp_are_not_hidden_by_the_private_tmp(
    tmp_path: Path,
) -> None:
    """A checkout (and its venv) under /tmp must stay readable: CI may clone there."""
    status = detect_sandbox("bwrap")
    assert status.mode == "bwrap", "scripts/test installs bubblewrap; the sandbox must be active"
    assert str(tmp_path).startswith("/tmp/")
    library = tmp_path / "checkout" / ".venv"
    library.mkdir(parents=True)
    (library / "marker.txt").write_text("visible")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    cat = shutil.which("cat")
    assert cat is not None
    outcome = await run_sandboxed(
        [cat, str(library / "marker.txt")],
        workspace=workspace,
        limits=ProcessLimits(timeout_s=20),
        status=status,
        readable=[library],
    )
    assert outcome.sandbox == "bwrap"
    assert (outcome.exit_code, outcome.stdout) == (0, "visible"), outcome.stderr
