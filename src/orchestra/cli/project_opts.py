"""Options shared by commands that work on a project folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-p",
        help="Project folder (default: the nearest folder with an orchestra.toml, else the current one).",
        envvar="ORCHESTRA_PROJECT",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def project_root(project: Path | None) -> Path:
    """The project folder a command should use."""
    from orchestra.definitions import find_project_root

    if project is not None:
        if not project.exists():
            raise typer.BadParameter(
                f"project folder '{project}' does not exist", param_hint="--project"
            )
        return project.resolve()
    return find_project_root(Path.cwd())
