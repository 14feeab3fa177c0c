from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestra.tools.errors import PackageNotAllowedError, WorkspacePathError
from orchestra.tools.workspace import Workspace


def test_create_lays_out_src_output_research_and_readme(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path, "run-42", title="Demo")
    assert {p.name for p in ws.root.iterdir()} == {"src", "output", "research", "README.md"}
    ws.log_progress("step analyze done")
    text = (ws.root / "README.md").read_text()
    assert "## Progress" in text
    assert "step analyze done" in text


@pytest.mark.parametrize("bad", ["../x", "a/../../x", "/etc/passwd", "~/x", "a/\x00b", "C:/x"])
def test_split_refuses_paths_that_leave_the_workspace(bad: str) -> None:
    with pytest.raises(WorkspacePathError):
        Workspace.split(bad)


def test_open_file_refuses_a_symlink_even_when_created_after_the_check(
    workspace: Workspace, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    parts = Workspace.split("output/link.txt")  # lexical check passes
    os.symlink(secret, workspace.root / "output" / "link.txt")  # swapped in afterwards
    with (
        pytest.raises(WorkspacePathError, match="symlink"),
        workspace.open_file(parts, os.O_RDONLY),
    ):
        pass


def test_workspace_id_must_be_a_plain_name(tmp_path: Path) -> None:
    with pytest.raises(WorkspacePathError):
        Workspace.create(tmp_path, "../escape")


async def test_install_refuses_packages_outside_the_allowlist(workspace: Workspace) -> None:
    with pytest.raises(PackageNotAllowedError, match=r"not in tools\.python_packages_allowlist"):
        await workspace.install(["requests"], allowlist=["rich"])
    with pytest.raises(PackageNotAllowedError, match="refused"):
        await workspace.install(["rich @ https://evil.example/rich.whl"], allowlist=["rich"])
    assert workspace.venv_python() is None  # nothing was created for a refused install
