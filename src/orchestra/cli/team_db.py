"""Open the project's database for the ``tasks`` and ``agents`` commands, with the
project's agents registered first, so a listing always shows the files as they are."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer

from orchestra.cli.run_cmd import load_settings_or_exit

if TYPE_CHECKING:
    from orchestra.config import Settings
    from orchestra.definitions import Project
    from orchestra.store.database import Database

T = TypeVar("T")


def with_team(
    project: Path | None, work: Callable[[Database, Project, Settings], Awaitable[T]]
) -> T:
    """Run ``work`` on the database (agents synced from the project's files); a user
    mistake (unknown task or agent, illegal move, bad input) exits 2 with its message."""
    import asyncio

    from orchestra.definitions import DefinitionError, Project
    from orchestra.errors import UserMistake
    from orchestra.runtime.task_specs import agent_profile
    from orchestra.store.database import connect
    from orchestra.store.team import AgentRepository

    settings = load_settings_or_exit(project)
    try:
        loaded = Project.load(settings.project_dir)
    except DefinitionError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error

    async def main() -> T:
        database = await connect(settings.database.url)
        try:
            await AgentRepository(database).sync(
                [agent_profile(spec, loaded.root) for spec in loaded.agents.values()]
            )
            return await work(database, loaded, settings)
        finally:
            await database.aclose()

    try:
        return asyncio.run(main())
    except (UserMistake, DefinitionError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


def when(value: float | None) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def as_json(value: object) -> str:
    """A row (dataclass) or list of rows as JSON; enums as their values."""
    import dataclasses
    import enum
    import json

    def plain(item: object) -> object:
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return {f.name: plain(getattr(item, f.name)) for f in dataclasses.fields(item)}
        if isinstance(item, enum.Enum):
            return item.value
        if isinstance(item, list | tuple):
            return [plain(x) for x in item]
        if isinstance(item, dict):
            return {str(k): plain(v) for k, v in item.items()}
        return item

    return json.dumps(plain(value), indent=2)
