"""``orchestra run WORKFLOW --file PATH``: hand a run its input files.

Each file is copied into the ``inputs/`` folder of the run's workspace
(``<workspaces root>/<run id>/inputs/``, where the agents' ``files.*`` tools see it as
``inputs/<name>``). Names and contents are also offered as inputs, for the workflow
inputs it declares:

* ``Files``: every file as a Markdown section (``### inputs/<name>`` then the content
  in a fenced block), in the order given;
* ``FileNames``: the workspace paths (``inputs/<name>``), one a line.

A workflow that declares neither still gets the copies in its workspace. Two files
with one base name are refused (one copy would be lost).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from orchestra.config.settings import Settings

FILE_INPUTS = ("Files", "FileNames")
FOLDER = "inputs"
MAX_INLINE_BYTES = 200_000
"""Larger files are copied but their content is not inlined into ``Files``."""


@dataclass(frozen=True, slots=True)
class InputFile:
    """One ``--file``: where it is and the text offered to the workflow."""

    path: Path
    name: str
    text: str


def read_files(paths: list[Path]) -> list[InputFile]:
    """Check and read every ``--file`` before the run is created (a typo costs no run)."""
    files: list[InputFile] = []
    seen: dict[str, Path] = {}
    for path in paths:
        if not path.is_file():
            raise typer.BadParameter(
                f"{path} is not a file (give a path to an existing file)", param_hint="--file"
            )
        name = path.name
        if name in seen:
            raise typer.BadParameter(
                f"{path} and {seen[name]} have the same name {name!r}; rename one "
                "(both would be copied to the workspace as that name)",
                param_hint="--file",
            )
        seen[name] = path
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            text = f"(binary file, {len(data)} bytes; read it from the workspace)"
        elif len(data) > MAX_INLINE_BYTES:
            text = f"(large file, {len(data)} bytes; read it from the workspace)"
        else:
            text = data.decode("utf-8", errors="replace")
        files.append(InputFile(path=path, name=f"{FOLDER}/{name}", text=text))
    return files


def file_inputs(files: list[InputFile], declared: set[str]) -> dict[str, str]:
    """The ``Files``/``FileNames`` inputs the workflow declares (none without files)."""
    if not files:
        return {}
    values = {
        "Files": "\n\n".join(f"### {f.name}\n\n````\n{f.text.rstrip()}\n````" for f in files),
        "FileNames": "\n".join(f.name for f in files),
    }
    return {key: value for key, value in values.items() if key in declared}


def copy_to_workspace(settings: Settings, run_id: str, files: list[InputFile]) -> Path | None:
    """Copy the files into the run's workspace, made as the agents' tools make it."""
    if not files:
        return None
    from orchestra.tools.workspace import Workspace

    root = settings.workspaces.root
    if not root.is_absolute():
        root = settings.project_dir / root
    workspace = Workspace.create(root, run_id, title=f"Run {run_id}")
    (workspace.root / FOLDER).mkdir(exist_ok=True)
    for item in files:
        shutil.copyfile(item.path, workspace.root / item.name)
    workspace.log_progress("input files: " + ", ".join(f.name for f in files))
    return workspace.root
