"""`orchestra config ...` commands: inspect the effective settings of a project.

Settings (pydantic) are imported inside the command bodies so that
``orchestra --help`` does not pay for them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from orchestra.cli.project_opts import JsonOption, ProjectOption, project_root

if TYPE_CHECKING:
    from orchestra.config import SettingValue

app = typer.Typer(help="Inspect Orchestra's settings.", no_args_is_help=True)

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help="Override a setting, e.g. --set engine.max_concurrency=4 (repeatable).",
        show_default=False,
    ),
]
LogLevelOption = Annotated[
    str | None,
    typer.Option("--log-level", help="Override log_level.", show_default=False),
]


@app.command("show")
def show(
    project: ProjectOption = None,
    as_json: JsonOption = False,
    assignments: SetOption = None,
    log_level: LogLevelOption = None,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Show secret values instead of ***.")
    ] = False,
) -> None:
    """Print every effective setting and where it came from (default, orchestra.toml:LINE,
    env ORCHESTRA_..., cli --flag). Secrets are masked."""
    from orchestra.config import ConfigError, explain_settings

    root = project_root(project)
    overrides: dict[str, object] = {"log_level": log_level}
    flags = {"log_level": "--log-level"}
    for assignment in assignments or []:
        key, sep, value = assignment.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(
                f"'{assignment}' is not KEY=VALUE, e.g. engine.max_concurrency=4",
                param_hint="--set",
            )
        overrides[key.strip()] = value
        flags[key.strip()] = f"--set {key.strip()}"
    try:
        values = explain_settings(root, overrides, flags=flags, reveal=reveal)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        document = {
            "project_dir": str(root),
            "settings": {item.key: {"value": item.value, "source": item.source} for item in values},
        }
        typer.echo(json.dumps(document, indent=2))
    else:
        _print_table(str(root), values)


def _print_table(root: str, values: list[SettingValue]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"Settings for {root}", title_justify="left")
    table.add_column("Key", style="bold", no_wrap=True)
    table.add_column("Value", overflow="fold")
    table.add_column("Source", no_wrap=True)
    for item in values:
        shown = item.value if isinstance(item.value, str) else json.dumps(item.value)
        source = Text(item.source, style="dim" if item.source == "default" else "green")
        table.add_row(item.key, Text(shown), source)
    Console().print(table)
