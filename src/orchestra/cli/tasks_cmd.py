"""``orchestra tasks create|list|show|cancel|retry|work``.

Everything but ``work`` opens only the database (and reads the project's files to
register its agents and check a workflow's inputs); ``work`` runs the dispatcher and
the runs it starts in the foreground, as ``orchestra serve`` does in the background.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from orchestra.cli.project_opts import JsonOption, ProjectOption
from orchestra.cli.team_db import as_json, when, with_team

if TYPE_CHECKING:
    from orchestra.config import Settings
    from orchestra.definitions import Project
    from orchestra.engine.ids import RunId
    from orchestra.store.database import Database
    from orchestra.store.team.tasks import TaskRow, TaskUpdateRow
    from orchestra.tasks import TaskStatus

app = typer.Typer(help="Queue work for the project's agents and follow it.", no_args_is_help=True)
TaskArg = Annotated[str, typer.Argument(help="Task id (see `orchestra tasks list`).")]
BY = "cli"


@app.command("create")
def create(
    title: Annotated[str, typer.Option("--title", help="What to do, in a line.")],
    description: Annotated[str, typer.Option("--description", help="The details.")] = "",
    complexity: Annotated[int, typer.Option(help="1 (trivial) to 10 (hardest).")] = 5,
    capability: Annotated[
        list[str] | None,
        typer.Option("--capability", help="A capability its taker must have (repeatable)."),
    ] = None,
    priority: Annotated[int, typer.Option(help="0-9, higher first.")] = 5,
    workflow: Annotated[
        str | None, typer.Option(help="Run this workflow instead of a one-step run.")
    ] = None,
    inputs: Annotated[
        list[str] | None, typer.Option("--input", "-i", help="A workflow input, KEY=VALUE.")
    ] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="The same key never creates a second task.")
    ] = None,
    project: ProjectOption = None,
    json_out: JsonOption = False,
) -> None:
    """Queue a task; a dispatcher (`orchestra serve` or `orchestra tasks work`) assigns it."""
    from orchestra.cli.run_cmd import parse_inputs
    from orchestra.engine.variables import resolve_inputs
    from orchestra.store.team import TaskRepository
    from orchestra.tasks.specs import parse_task

    fields: dict[str, object] = {
        "title": title,
        "description": description,
        "complexity": complexity,
        "capabilities": tuple(capability or ()),
        "priority": priority,
        "workflow": workflow,
        "inputs": parse_inputs(inputs or [], None),
    }
    if idempotency_key is not None:
        fields["idempotency_key"] = idempotency_key

    async def work(
        database: Database, loaded: Project, _settings: Settings
    ) -> tuple[TaskRow, bool]:
        draft = parse_task(fields)
        if draft.workflow is not None:
            resolve_inputs(loaded.workflow(draft.workflow), draft.inputs)
        return await TaskRepository(database).create(draft, by=BY)

    task, created = with_team(project, work)
    if json_out:
        typer.echo(as_json({"created": created, "task": task}))
        return
    verb = "queued" if created else "already exists (same idempotency key):"
    typer.echo(f"task {task.id} {verb} {task.title!r} [{task.status.value}]")


@app.command("list")
def list_tasks(
    status: Annotated[str | None, typer.Option(help="Only tasks in this status.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    project: ProjectOption = None,
    json_out: JsonOption = False,
) -> None:
    """Tasks, newest first, with their status, agent and why a queued one waits."""
    from rich.console import Console
    from rich.table import Table

    from orchestra.store.team import TaskRepository
    from orchestra.tasks import TaskStatus

    wanted = _status(status) if status else None

    async def work(database: Database, _loaded: Project, _settings: Settings) -> list[TaskRow]:
        return await TaskRepository(database).list(status=wanted, limit=limit)

    rows = with_team(project, work)
    if json_out:
        typer.echo(as_json(rows))
        return
    table = Table("task", "title", "status", "agent", "prio", "waiting because")
    for row in rows:
        waits = row.wait_reason or "" if row.status is TaskStatus.QUEUED else ""
        table.add_row(
            row.id[:12], row.title[:40], row.status.value, row.agent or "", str(row.priority), waits
        )
    Console().print(table)


@app.command("show")
def show(task_id: TaskArg, project: ProjectOption = None, json_out: JsonOption = False) -> None:
    """A task: what it asks, who has it, its run, and every update it had."""
    from orchestra.store.team import TaskRepository

    async def work(
        database: Database, _loaded: Project, _settings: Settings
    ) -> tuple[TaskRow, list[TaskUpdateRow]]:
        tasks = TaskRepository(database)
        row = await tasks.get(await tasks.resolve_id(task_id))
        return row, await tasks.updates(row.id)

    row, updates = with_team(project, work)
    if json_out:
        typer.echo(as_json({"task": row, "updates": updates}))
        return
    typer.echo(f"task {row.id} · {row.status.value} · priority {row.priority}")
    typer.echo(f"  title:       {row.title}")
    if row.description:
        typer.echo(f"  description: {row.description}")
    typer.echo(
        f"  needs:       complexity {row.complexity}"
        + (f", capabilities {', '.join(row.capabilities)}" if row.capabilities else "")
    )
    if row.workflow:
        typer.echo(f"  workflow:    {row.workflow} {dict(row.inputs) or ''}")
    typer.echo(f"  agent:       {row.agent or '-'}   attempt {row.attempts}/{row.max_attempts}")
    if row.run_id:
        typer.echo(f"  run:         {row.run_id}  (orchestra runs show {row.run_id})")
    if row.wait_reason and row.status.value == "queued":
        typer.echo(f"  waiting:     {row.wait_reason}")
    if row.error:
        typer.echo(f"  error:       {row.error.get('message', row.error)}")
    typer.echo("  updates:")
    for update in updates:
        move = f"{update.source or '·'} → {update.target}" if update.target else update.kind
        typer.echo(f"    {when(update.at)}  {move:<22} {update.by:<12} {update.note}")


@app.command("cancel")
def cancel(task_id: TaskArg, project: ProjectOption = None) -> None:
    """Cancel a task (and the run it became, if any)."""
    from orchestra.engine.ids import RunId
    from orchestra.store.team import TaskRepository
    from orchestra.tasks import TaskStatus

    async def work(database: Database, _loaded: Project, _settings: Settings) -> TaskRow:
        tasks = TaskRepository(database)
        row = await tasks.move(await tasks.resolve_id(task_id), TaskStatus.CANCELLED, by=BY)
        if row.run_id is not None:
            await _cancel_run(database, RunId(row.run_id))
        return row

    row = with_team(project, work)
    typer.echo(f"task {row.id} cancelled" + (f" (its run {row.run_id} too)" if row.run_id else ""))


@app.command("retry")
def retry(task_id: TaskArg, project: ProjectOption = None) -> None:
    """Queue a failed or cancelled task again."""
    from orchestra.store.team import TaskRepository
    from orchestra.tasks import TaskStatus

    async def work(database: Database, _loaded: Project, _settings: Settings) -> TaskRow:
        tasks = TaskRepository(database)
        return await tasks.move(
            await tasks.resolve_id(task_id), TaskStatus.QUEUED, by=BY, note="retry"
        )

    row = with_team(project, work)
    typer.echo(f"task {row.id} queued again")


@app.command("work")
def work_queue(
    until_idle: Annotated[
        bool,
        typer.Option(
            "--until-idle",
            help="Exit 0 once nothing is queued (that an agent can take) or running.",
        ),
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Run the dispatcher and the tasks' runs in the foreground (Ctrl-C stops)."""
    import asyncio

    from orchestra.cli.run_cmd import load_settings_or_exit, open_container

    settings = load_settings_or_exit(project)

    async def main() -> int:
        container = await open_container(settings)
        try:
            service = container.tasks
            await service.sync_agents()
            await container.runs.resume_interrupted()
            while True:
                done = await service.run_once()
                for task_id in done.started:
                    typer.echo(f"task {task_id} started")
                for task_id in done.finished:
                    row = await service.tasks.get(task_id)
                    typer.echo(f"task {task_id} {row.status.value} ({row.agent})")
                if until_idle and await service.idle():
                    return 0
                await asyncio.sleep(settings.tasks.poll_seconds)
        finally:
            await container.close()

    try:
        raise typer.Exit(asyncio.run(main()))
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _status(value: str) -> TaskStatus:
    from orchestra.tasks import TaskStatus

    try:
        return TaskStatus(value)
    except ValueError:
        known = ", ".join(s.value for s in TaskStatus)
        raise typer.BadParameter(f"unknown status {value!r}; one of {known}") from None


async def _cancel_run(database: Database, run_id: RunId) -> None:
    from orchestra.engine.control import RunControl
    from orchestra.store.run_store import SqlRunStore

    async with SqlRunStore(database) as store:
        await RunControl(store).cancel(run_id)
