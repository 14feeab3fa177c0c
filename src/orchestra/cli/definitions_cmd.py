"""``orchestra init``, ``orchestra validate`` and ``orchestra show``: working with definition files."""

from __future__ import annotations

import json
import shutil
from importlib.resources import as_file, files
from pathlib import Path
from typing import Annotated, Any

import typer

from orchestra.cli.project_opts import JsonOption, ProjectOption, project_root

show_app = typer.Typer(help="Show workflows and agents of a project.", no_args_is_help=True)


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create the project in.")] = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Write into a folder that is not empty.")
    ] = False,
) -> None:
    """Scaffold a working project: settings, agents, skills and demo workflows."""
    from rich.console import Console

    console = Console()
    target = directory.resolve()
    if target.exists() and any(p.name != ".git" for p in target.iterdir()) and not force:
        console.print(
            f"[red]error:[/] {target} is not empty; choose a new folder or pass --force "
            "(existing files with the same names are overwritten)"
        )
        raise typer.Exit(1)
    with as_file(files("orchestra") / "project_template") as template:
        shutil.copytree(
            template,
            target,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".orchestra", "__pycache__"),
        )
    console.print(f"Created an Orchestra project in [bold]{target}[/]")
    console.print("Next:")
    console.print(f"  cd {directory}")
    console.print("  orchestra validate")
    console.print("  orchestra show workflow zero-to-hero")
    console.print("  orchestra run zero-to-hero -i RepoUrl=https://github.com/example/repo")


def validate(
    path: Annotated[
        Path | None,
        typer.Argument(help="A definition file or a project folder (default: current project)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check agent, skill and workflow files; exit 1 if any has an error."""
    from rich.console import Console

    from orchestra.definitions import Project, find_project_root, format_diagnostics
    from orchestra.runtime.project_checks import load_project, settings_problems

    target = (path or Path.cwd()).resolve()
    if not target.exists():
        Console(stderr=True).print(f"[red]error:[/] {path} does not exist")
        raise typer.Exit(2)
    root = find_project_root(target)
    settings, problems = settings_problems(root)
    project = load_project(settings) if settings is not None else Project.load(root)
    problems += project.diagnostics if target.is_dir() else project.problems_in(target)
    errors = [d for d in problems if d.severity == "error"]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": not errors,
                    "diagnostics": [d.to_dict() for d in problems],
                    "workflows": sorted(project.workflows),
                    "agents": sorted(project.agents),
                },
                indent=2,
            )
        )
    elif errors:
        typer.echo(format_diagnostics(problems), err=True)
        typer.echo(f"{len(errors)} error{'s' if len(errors) != 1 else ''} found", err=True)
    else:
        if problems:
            typer.echo(format_diagnostics(problems), err=True)
        scope = (
            target.name
            if target.is_file()
            else f"{len(project.workflows)} workflows, {len(project.agents)} agents"
        )
        typer.echo(f"ok: {scope}")
    if errors:
        raise typer.Exit(1)


@show_app.command("workflow")
def show_workflow(
    name: Annotated[str, typer.Argument(help="Workflow name.")],
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print a workflow's DAG: inputs, layers of steps that run together, edges, outputs."""
    from rich.console import Console
    from rich.table import Table

    from orchestra.definitions import DefinitionError, Project, format_diagnostics
    from orchestra.definitions.views import workflow_view

    loaded = Project.load(project_root(project))
    try:
        spec = loaded.workflow(name)
    except DefinitionError as exc:
        typer.echo(format_diagnostics(exc.diagnostics), err=True)
        raise typer.Exit(1) from None
    view = workflow_view(spec)
    if as_json:
        typer.echo(json.dumps(view, indent=2))
        return
    console = Console()
    console.print(f"[bold]{spec.name}[/]  {spec.description}")
    inputs = Table("input", "required", "default", title="Inputs", title_justify="left")
    for item in spec.inputs:
        inputs.add_row(f"${{{item.name}}}", "yes" if item.required else "no", item.default or "")
    console.print(inputs)
    for depth, layer in enumerate(view["layers"]):
        console.print(
            f"[bold]layer {depth}[/] (runs in parallel)"
            if len(layer) > 1
            else f"[bold]layer {depth}[/]"
        )
        for step_id in layer:
            step = spec.step(step_id)
            flags = [
                f for f, on in (("approval", step.approval), (f"when {step.when}", step.when)) if on
            ]
            console.print(
                f"  [cyan]{step.id}[/] ({step.agent_name})"
                f"  reads {_vars(step.input_vars)}  writes {_vars(step.output_vars)}"
                + (f"  [magenta]{', '.join(flags)}[/]" if flags else "")
            )
    console.print("[bold]edges[/]")
    for before, after in view["edges"]:
        console.print(f"  {before} -> {after}")
    console.print(f"[bold]outputs[/] {_vars(tuple(view['outputs']))}")


@show_app.command("workflows")
def show_workflows(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """List the project's workflows."""
    from orchestra.definitions import Project

    loaded = Project.load(project_root(project))
    rows = [
        {
            "name": w.name,
            "steps": len(w.steps),
            "inputs": [i.name for i in w.inputs],
            "description": w.description,
        }
        for w in sorted(loaded.workflows.values(), key=lambda w: w.name)
    ]
    _print_rows(rows, as_json, "Workflows")


@show_app.command("agents")
def show_agents(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """List the project's agents with their model, tools and skills."""
    from orchestra.definitions import Project

    loaded = Project.load(project_root(project))
    rows = [
        {
            "name": a.name,
            "model": a.model,
            "tools": list(a.tools),
            "skills": [s.name for s in a.skills],
            "description": a.description,
        }
        for a in sorted(loaded.agents.values(), key=lambda a: a.name)
    ]
    _print_rows(rows, as_json, "Agents")


def _print_rows(rows: list[dict[str, Any]], as_json: bool, title: str) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*(rows[0].keys() if rows else ["name"]), title=title, title_justify="left")
    for row in rows:
        table.add_row(*(", ".join(v) if isinstance(v, list) else str(v) for v in row.values()))
    Console().print(table)


def _vars(names: tuple[str, ...]) -> str:
    return ", ".join(f"${{{n}}}" for n in names) or "-"
