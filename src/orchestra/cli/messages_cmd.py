"""``orchestra messages send|publish|tail|dlq``: the message bus from a terminal.

Each command opens the project's bus (the database, or Redis when
``[messaging] redis_url`` is set) as the ``operator``, does one thing and closes it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from orchestra.cli.project_opts import JsonOption, ProjectOption
from orchestra.cli.team_db import with_team

if TYPE_CHECKING:
    from orchestra.config import Settings
    from orchestra.definitions import Project
    from orchestra.messaging import MessageBus
    from orchestra.store.database import Database

T = TypeVar("T")
app = typer.Typer(help="Send, publish and inspect messages between agents.", no_args_is_help=True)
dlq_app = typer.Typer(
    help="The dead-letter queue: list, show, replay, purge.", no_args_is_help=True
)
app.add_typer(dlq_app, name="dlq")

BodyOption = Annotated[str, typer.Option("--body", "-b", help="The body, as JSON.")]
PriorityOption = Annotated[int, typer.Option(help="0 (lowest) to 9 (highest).")]
HeaderOption = Annotated[
    list[str] | None, typer.Option("--header", "-H", help="A header, KEY=VALUE (repeatable).")
]


def _with_bus(project: Path | None, work: Callable[[MessageBus], Awaitable[T]]) -> T:
    async def run(database: Database, _loaded: Project, settings: Settings) -> T:
        from orchestra.runtime.messaging import build_bus

        bus = build_bus(settings, database)
        await bus.start()
        try:
            return await work(bus)
        finally:
            await bus.aclose()

    return with_team(project, run)


def _body(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        typer.echo(f"error: --body is not JSON ({error}); quote strings: --body '\"hi\"'", err=True)
        raise typer.Exit(2) from error


def _headers(items: list[str] | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            typer.echo(f"error: header {item!r} is not KEY=VALUE", err=True)
            raise typer.Exit(2)
        headers[key] = value
    return headers


def _publish(project: Path | None, draft: dict[str, object], json_out: bool) -> None:
    published = _with_bus(project, lambda bus: bus.publish(draft))
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "created": published.created,
                    "routed": published.routed,
                    "message": published.message.model_dump(mode="json"),
                }
            )
        )
    else:
        state = "stored" if published.created else "duplicate of"
        typer.echo(f"{state} {published.message.id}, routed to {published.routed} subscription(s)")


@app.command("send")
def send(
    to: Annotated[str, typer.Argument(help="The agent whose inbox receives it.")],
    body: BodyOption = "null",
    priority: PriorityOption = 4,
    header: HeaderOption = None,
    dedupe_key: Annotated[str | None, typer.Option(help="Store at most once per key.")] = None,
    project: ProjectOption = None,
    json_out: JsonOption = False,
) -> None:
    """Send a message to one agent's inbox."""
    draft = {"to": to, "body": _body(body), "priority": priority, "headers": _headers(header)}
    _publish(project, {**draft, "dedupe_key": dedupe_key}, json_out)


@app.command("publish")
def publish(
    topic: Annotated[str, typer.Argument(help="A dotted topic, e.g. review.done.")],
    body: BodyOption = "null",
    priority: PriorityOption = 4,
    header: HeaderOption = None,
    dedupe_key: Annotated[str | None, typer.Option(help="Store at most once per key.")] = None,
    ttl: Annotated[float | None, typer.Option("--ttl", help="Seconds before it expires.")] = None,
    project: ProjectOption = None,
    json_out: JsonOption = False,
) -> None:
    """Publish a message on a topic (or --broadcast with topic '*')."""
    draft: dict[str, object] = {"body": _body(body), "priority": priority}
    draft["headers"] = _headers(header)
    if topic == "*":
        draft["broadcast"] = True
    else:
        draft["topic"] = topic
    _publish(project, {**draft, "dedupe_key": dedupe_key, "ttl_s": ttl}, json_out)


@app.command("tail")
def tail(
    topic: Annotated[str | None, typer.Argument(help="A topic pattern ('review.#').")] = None,
    limit: Annotated[int, typer.Option(help="How many of the latest messages.")] = 20,
    project: ProjectOption = None,
    json_out: JsonOption = False,
) -> None:
    """The latest messages in the history, oldest first."""
    found = _with_bus(project, lambda bus: bus.history(limit=limit, pattern=topic))
    if json_out:
        typer.echo(json.dumps([m.model_dump(mode="json") for m in found]))
        return
    for message in found:
        body = json.dumps(message.body, ensure_ascii=False)
        typer.echo(
            f"{message.id}  {message.sender} → {message.target}  p{message.priority}  {body}"
        )


@dlq_app.command("list")
def dlq_list(
    subscription: Annotated[str | None, typer.Option(help="Only this subscription's.")] = None,
    project: ProjectOption = None,
    json_out: JsonOption = False,
) -> None:
    """Dead letters, newest first."""
    letters = _with_bus(project, lambda bus: bus.dead_letters(subscription))
    if json_out:
        typer.echo(json.dumps([x.model_dump(mode="json") for x in letters]))
        return
    for x in letters:
        typer.echo(
            f"{x.id}  {x.subscription}  {x.message.target}  attempts={x.attempts}  {x.reason}"
        )


@dlq_app.command("show")
def dlq_show(
    letter: Annotated[str, typer.Argument(help="Dead-letter id (see `dlq list`).")],
    project: ProjectOption = None,
) -> None:
    """One dead letter with its message, as JSON."""
    found = _with_bus(project, lambda bus: bus.dead_letter(letter))
    typer.echo(json.dumps(found.model_dump(mode="json"), indent=2, ensure_ascii=False))


@dlq_app.command("replay")
def dlq_replay(
    letters: Annotated[list[str], typer.Argument(help="Dead-letter ids.")],
    project: ProjectOption = None,
    json_out: JsonOption = False,
) -> None:
    """Put dead letters back on their subscriptions with fresh attempt counts."""
    count = _with_bus(project, lambda bus: bus.replay(letters))
    typer.echo(json.dumps({"replayed": count}) if json_out else f"replayed {count}")


@dlq_app.command("purge")
def dlq_purge(
    letters: Annotated[list[str] | None, typer.Argument(help="Ids; none: every one.")] = None,
    project: ProjectOption = None,
    json_out: JsonOption = False,
) -> None:
    """Delete dead letters (all of them when no id is given)."""
    count = _with_bus(project, lambda bus: bus.purge(letters or None))
    typer.echo(json.dumps({"purged": count}) if json_out else f"purged {count}")
