"""``orchestra worker`` (a Celery worker executing steps) and ``orchestra workers list``.

Celery and Redis are imported inside the command bodies: ``orchestra --help`` and
every other command never load them.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestra.cli.project_opts import JsonOption, ProjectOption, project_root

if TYPE_CHECKING:
    from orchestra.config import Settings

workers_app = typer.Typer(help="The workers executing steps (docs/deployment.md).")


def _settings(project: ProjectOption) -> Settings:
    from orchestra.config import ConfigError, load_settings

    try:
        settings = load_settings(project_root(project))
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if not settings.distributed.broker_url:
        typer.echo(
            "error: [distributed] broker_url is not set; set it in orchestra.toml or "
            "ORCHESTRA_DISTRIBUTED__BROKER_URL (e.g. redis://127.0.0.1:6379/0)",
            err=True,
        )
        raise typer.Exit(2)
    return settings


def worker(
    queues: Annotated[
        str | None,
        typer.Option(
            "--queues",
            "-Q",
            help="Queues to take steps from, comma-separated "
            "(default: [distributed] default_queue).",
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, help="Steps executed at once.")
    ] = 4,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            "-n",
            help="Node name (default worker-<pid>@<host>); recorded on every attempt it runs.",
        ),
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Execute steps handed out by `orchestra run` / `orchestra serve` over Celery.

    Needs the project's database (PostgreSQL for several hosts) and broker settings;
    each step is read from the run's pinned definition in the database.
    """
    from celery import signals as celery_signals

    from orchestra.distributed.celery_app import TASK, make_app
    from orchestra.distributed.config import DistributedConfig
    from orchestra.distributed.consumer import StepConsumer
    from orchestra.distributed.routing import check_routes
    from orchestra.log import setup_logging
    from orchestra.runtime.step_worker import open_step_host

    settings = _settings(project)
    problems = check_routes(settings.distributed.routes)
    if problems:
        typer.echo("error: " + "; ".join(problems), err=True)
        raise typer.Exit(2)
    setup_logging(settings)
    config = DistributedConfig.from_settings(settings)
    queue_list = [q.strip() for q in (queues or config.default_queue).split(",") if q.strip()]
    node = name or f"worker-{os.getpid()}@{socket.gethostname()}"
    consumer = StepConsumer(config, node, queue_list, concurrency, lambda: open_step_host(settings))
    try:
        consumer.start()
    except Exception as error:
        typer.echo(f"error: the worker could not open its store: {error}", err=True)
        consumer.stop()
        raise typer.Exit(1) from error
    app = make_app(config, consumer.handle)

    def ready(**_: Any) -> None:
        typer.echo(f"worker {node} ready: queues {','.join(queue_list)}, concurrency {concurrency}")

    def received(request: Any = None, **_: Any) -> None:
        args = list(getattr(request, "args", None) or [])
        if getattr(request, "task_name", None) == TASK and len(args) == 2:
            consumer.received(str(args[0]), str(args[1]))

    celery_signals.worker_ready.connect(ready, weak=False)
    celery_signals.task_received.connect(received, weak=False)
    try:
        app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={concurrency}",
                f"--queues={','.join(queue_list)}",
                f"--hostname={node}",
                f"--loglevel={settings.log_level}",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    finally:
        consumer.stop()


@workers_app.command("list")
def list_workers(project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Workers alive (heartbeat within the last seconds): queues, current steps, heartbeat."""
    from orchestra.distributed.workers import list_workers as read

    settings = _settings(project)
    assert settings.distributed.broker_url is not None
    from redis.exceptions import ConnectionError as RedisConnectionError

    try:
        found = asyncio.run(read(settings.distributed.broker_url))
    except (OSError, RedisConnectionError) as error:
        typer.echo(f"error: cannot reach the broker ([distributed] broker_url): {error}", err=True)
        raise typer.Exit(1) from error
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("worker", "queues", "concurrency", "current steps", "heartbeat", "celery")
    now = time.time()
    for info in found:
        steps = ", ".join(f"{s['run_id']}/{s['step_id']}" for s in info.get("steps", []))
        table.add_row(
            str(info.get("name")),
            ",".join(info.get("queues", [])),
            str(info.get("concurrency")),
            steps or "-",
            f"{now - float(info.get('heartbeat', now)):.1f}s ago",
            "answering" if info.get("celery") else "no answer",
        )
    Console().print(table)
