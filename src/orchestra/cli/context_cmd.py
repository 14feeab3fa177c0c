"""``orchestra context add|list|show|search|edit|rm``: the context store from the shell.

Opens only the project's database. An entry added here has provenance ``user`` with the
name ``cli``; ``--json`` on every command prints what the API would answer.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

from orchestra.cli.project_opts import JsonOption, ProjectOption
from orchestra.cli.team_db import as_json, when, with_team

if TYPE_CHECKING:
    from orchestra.config import Settings
    from orchestra.context import ContextEntry
    from orchestra.definitions import Project
    from orchestra.store.database import Database

app = typer.Typer(
    help="What earlier jobs learnt: add, find and manage context.", no_args_is_help=True
)
EntryArg = Annotated[int, typer.Argument(help="Entry id (see `orchestra context list`).")]
BY = "cli"

JobIdOption = Annotated[str | None, typer.Option("--job-id", help="Only entries of this job.")]
JobTypeOption = Annotated[
    str | None, typer.Option("--job-type", help="Only entries of this job type.")
]
TagOption = Annotated[str | None, typer.Option("--tag", help="Only entries with this tag.")]
SinceOption = Annotated[
    str | None, typer.Option(help="Created at or after (ISO time, e.g. 2026-12-01T09:00).")
]
UntilOption = Annotated[str | None, typer.Option(help="Created before (ISO time).")]


def _time(value: str | None, option: str) -> float | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromisoformat(value).timestamp()
    except ValueError:
        typer.echo(f"error: {option} {value!r} is not an ISO time (2026-12-01T09:00)", err=True)
        raise typer.Exit(2) from None


def _plain(entry: ContextEntry) -> dict[str, object]:
    return {
        "id": entry.id,
        "job_id": entry.job_id,
        "job_type": entry.job_type,
        "context_data": entry.context_data,
        "tags": list(entry.tags),
        "provenance": entry.provenance.model_dump(),
        "created_at": entry.created_at,
        "updated_at": entry.updated_at,
        "rank": entry.rank,
    }


def _table(entries: list[ContextEntry]) -> None:
    import json

    if not entries:
        typer.echo("no context entries")
        return
    typer.echo(f"{'ID':>6}  {'CREATED':19}  {'JOB TYPE':16} {'JOB':16} {'BY':28} DATA")
    for e in entries:
        data = json.dumps(e.context_data, ensure_ascii=False)
        data = data if len(data) <= 60 else data[:57] + "..."
        typer.echo(
            f"{e.id:>6}  {when(e.created_at):19}  {e.job_type[:16]:16} {e.job_id[:16]:16} "
            f"{e.provenance.label()[:28]:28} {data}"
        )


@app.command("add")
def add(
    job_id: Annotated[str, typer.Option("--job-id", help="The job the entry belongs to.")],
    job_type: Annotated[str, typer.Option("--job-type", help="Its kind, e.g. prospecting.")],
    data: Annotated[str, typer.Option("--data", help="The entry: any JSON value.")],
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")] = None,
    project: ProjectOption = None,
    json_out: JsonOption = False,
) -> None:
    """Store an entry; bad JSON or a size over the limit exits 2 naming the problem."""
    from orchestra.context import Provenance, parse_context_data
    from orchestra.context.entries import validate_draft
    from orchestra.store.context import ContextRepository

    async def work(database: Database, _p: Project, _s: Settings) -> ContextEntry:
        draft = validate_draft(
            {
                "job_id": job_id,
                "job_type": job_type,
                "context_data": parse_context_data(data),
                "tags": tag or [],
            }
        )
        return await ContextRepository(database).add(draft, Provenance(kind="user", by=BY))

    entry = with_team(project, work)
    if json_out:
        typer.echo(as_json(_plain(entry)))
        return
    typer.echo(f"context entry {entry.id} added ({entry.job_type}, job {entry.job_id})")


@app.command("list")
def list_entries(
    job_id: JobIdOption = None,
    job_type: JobTypeOption = None,
    tag: TagOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    project: ProjectOption = None,
    json_out: JsonOption = False,
) -> None:
    """Entries newest first, narrowed by job, type, tag and time."""
    from orchestra.context import ContextFilter
    from orchestra.store.context import ContextRepository

    where = ContextFilter(
        job_id=job_id,
        job_type=job_type,
        tag=tag,
        since=_time(since, "--since"),
        until=_time(until, "--until"),
    )

    async def work(database: Database, _p: Project, _s: Settings) -> list[ContextEntry]:
        return await ContextRepository(database).list(where, limit=limit)

    entries = with_team(project, work)
    if json_out:
        typer.echo(as_json([_plain(e) for e in entries]))
        return
    _table(entries)


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="Words to find (every word must match).")],
    job_id: JobIdOption = None,
    job_type: JobTypeOption = None,
    tag: TagOption = None,
    limit: Annotated[int, typer.Option(help="How many, best first.")] = 10,
    project: ProjectOption = None,
    json_out: JsonOption = False,
) -> None:
    """Full-text search, best match first (SQLite FTS5 or PostgreSQL full-text)."""
    from orchestra.context import ContextFilter
    from orchestra.store.context import ContextRepository

    where = ContextFilter(job_id=job_id, job_type=job_type, tag=tag)

    async def work(database: Database, _p: Project, _s: Settings) -> list[ContextEntry]:
        return await ContextRepository(database).search(query, where, limit=limit)

    entries = with_team(project, work)
    if json_out:
        typer.echo(as_json([_plain(e) for e in entries]))
        return
    _table(entries)


@app.command("show")
def show(entry_id: EntryArg, project: ProjectOption = None, json_out: JsonOption = False) -> None:
    """One entry with its whole data and provenance."""
    import json

    from orchestra.store.context import ContextRepository

    async def work(database: Database, _p: Project, _s: Settings) -> ContextEntry:
        return await ContextRepository(database).get(entry_id)

    entry = with_team(project, work)
    if json_out:
        typer.echo(as_json(_plain(entry)))
        return
    typer.echo(f"context entry {entry.id} · {entry.job_type} · job {entry.job_id}")
    typer.echo(f"  written by: {entry.provenance.label()}")
    typer.echo(f"  created:    {when(entry.created_at)}   updated: {when(entry.updated_at)}")
    typer.echo(f"  tags:       {', '.join(entry.tags) or '-'}")
    typer.echo("  data:")
    for line in json.dumps(entry.context_data, indent=2, ensure_ascii=False).splitlines():
        typer.echo(f"    {line}")


@app.command("rm")
def remove(entry_id: EntryArg, project: ProjectOption = None, json_out: JsonOption = False) -> None:
    """Delete an entry."""
    from orchestra.store.context import ContextRepository

    async def work(database: Database, _p: Project, _s: Settings) -> None:
        await ContextRepository(database).delete(entry_id)

    with_team(project, work)
    if json_out:
        typer.echo(as_json({"deleted": entry_id}))
        return
    typer.echo(f"context entry {entry_id} deleted")
