"""``orchestra keys create|list|revoke``: API keys of the server, stored hashed.

Works on the project's database directly, so it also works while the server
is stopped (e.g. to recover from a lost admin key).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from orchestra.cli.project_opts import JsonOption, ProjectOption, project_root

if TYPE_CHECKING:
    from orchestra.runtime.keys import KeyService
    from orchestra.store.auth_repo import KeyRow

app = typer.Typer(help="Manage API keys (roles: viewer, operator, admin).", no_args_is_help=True)
T = TypeVar("T")


def _with_keys(project: Path | None, work: Callable[[KeyService], Awaitable[T]]) -> T:
    from orchestra.config import ConfigError, load_settings
    from orchestra.runtime.keys import KeyService
    from orchestra.store.auth_repo import KeyRepository
    from orchestra.store.database import connect

    try:
        settings = load_settings(project_root(project))
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error

    async def run() -> T:
        database = await connect(settings.database.url)
        try:
            return await work(KeyService(KeyRepository(database)))
        finally:
            await database.aclose()

    return asyncio.run(run())


def _time(value: float | None) -> str:
    if value is None:
        return "-"
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _row(row: KeyRow) -> dict[str, object]:
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at,
    }


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses the key, e.g. ci.")],
    role: Annotated[
        str, typer.Option("--role", help="viewer (read), operator (run), or admin.")
    ] = "viewer",
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from orchestra.runtime.errors import InvalidRequest

    try:
        row, key = _with_keys(project, lambda keys: keys.create(name, role))
    except InvalidRequest as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if as_json:
        typer.echo(json.dumps({**_row(row), "key": key}))
        return
    typer.echo(
        f"Created {row.role} key {row.id} ({row.name}). It is shown only now:\n\n    {key}\n"
    )


@app.command("list")
def list_keys(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """List keys (never their secrets)."""
    rows = _with_keys(project, lambda keys: keys.list())
    if as_json:
        typer.echo(json.dumps([_row(r) for r in rows]))
        return
    if not rows:
        typer.echo("no keys yet; `orchestra serve` creates an admin key on its first start")
        return
    typer.echo(f"{'ID':<14}{'ROLE':<10}{'CREATED':<22}{'LAST USED':<22}{'REVOKED':<22}NAME")
    for r in rows:
        typer.echo(
            f"{r.id:<14}{r.role:<10}{_time(r.created_at):<22}{_time(r.last_used_at):<22}"
            f"{_time(r.revoked_at):<22}{r.name}"
        )


@app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id, from `orchestra keys list`.")],
    project: ProjectOption = None,
) -> None:
    """Revoke a key; requests with it are refused at once."""
    from orchestra.runtime.errors import NotFound

    try:
        row = _with_keys(project, lambda keys: keys.revoke(key_id))
    except NotFound as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from error
    typer.echo(f"revoked key {row.id} ({row.name})")
