"""``orchestra run WORKFLOW``: start a run and show it live (or as JSON lines).

Also the live view that ``orchestra runs resume|approve|reject`` reuse. Heavy
imports (SQLAlchemy, LiteLLM) happen inside the functions, never at import.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestra.cli.project_opts import JsonOption, ProjectOption, project_root

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from orchestra.config.settings import Settings
    from orchestra.engine.events import ExecutionEvent
    from orchestra.engine.ids import RunId
    from orchestra.engine.states import RunStatus
    from orchestra.runtime.container import Container

EXIT_CODES = {"succeeded": 0, "failed": 1, "cancelled": 130}
STYLES = {
    "agent_thought": "cyan",
    "tool_call": "green",
    "tool_result": "green",
    "error": "red",
    "step_failed": "red",
    "approval_requested": "yellow",
    "run_finished": "bold",
    "token": "dim",
}
STATUS_STYLES = {
    "pending": "dim",
    "running": "yellow",
    "succeeded": "green",
    "failed": "red",
    "skipped": "dim",
    "cancelled": "magenta",
}


def parse_inputs(pairs: list[str], input_file: Path | None) -> dict[str, str]:
    """``-i Key=Value`` pairs over an optional JSON object file."""
    values: dict[str, str] = {}
    if input_file is not None:
        try:
            data = json.loads(input_file.read_text("utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise typer.BadParameter(
                f"cannot read {input_file}: {error}", param_hint="--input-file"
            ) from error
        if not isinstance(data, dict):
            raise typer.BadParameter(
                "must hold a JSON object of input names to values", param_hint="--input-file"
            )
        values.update({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()})
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r} is not Key=Value", param_hint="-i")
        values[key.strip()] = value
    return values


def load_settings_or_exit(project: Path | None) -> Settings:
    from orchestra.config import ConfigError, load_settings

    try:
        return load_settings(project_root(project))
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


def log_to_file(settings: Settings) -> None:
    """Write the log file the settings describe (``log_file``), as ``serve`` does. No
    console transport: the terminal shows the live view (or JSON lines)."""
    from orchestra.log import setup_logging

    setup_logging(settings, console=False)


def start_model_import() -> None:
    """Commands that may call a model import LiteLLM (seconds) in the background while
    they open the database and read the project; the first model call waits for it."""
    from orchestra.llm.providers import start_import

    start_import()


async def open_container(settings: Settings) -> Container:
    from orchestra.runtime.container import Container, ContainerOptions

    return await Container.open(settings, ContainerOptions(refresh_s=None, resume=False))


class LiveView:
    """A table of steps plus a coloured log, fed by the run's events."""

    def __init__(self, console: Console, step_agents: dict[str, str]) -> None:
        self.console = console
        self.rows: dict[str, dict[str, Any]] = {
            sid: {"agent": agent, "status": "pending", "attempt": 0, "start": None, "end": None}
            for sid, agent in step_agents.items()
        }

    def table(self) -> Table:
        from rich.table import Table

        table = Table(title=None, expand=False)
        for column in ("step", "agent", "status", "attempt", "time"):
            table.add_column(column)
        now = time.time()
        for sid, row in self.rows.items():
            start, end = row["start"], row["end"]
            took = f"{(end or now) - start:.1f}s" if start else ""
            style = STATUS_STYLES.get(row["status"], "")
            table.add_row(
                sid, row["agent"], f"[{style}]{row['status']}[/]", str(row["attempt"] or ""), took
            )
        return table

    def handle(self, event: ExecutionEvent) -> None:
        from rich.markup import escape

        row = self.rows.get(event.step_id or "")
        kind = event.type.value
        content = event.content
        if row is not None:
            if kind == "step_started":
                row.update(
                    status="running",
                    attempt=content.get("attempt", 0),
                    start=event.timestamp,
                    end=None,
                )
            elif kind in {"step_complete", "step_failed"}:
                row.update(status=content.get("status", "failed"), end=event.timestamp)
            elif kind == "error" and content.get("retryable"):
                row.update(status="pending")
        text = content.get("text") or content.get("message") or content.get("error") or ""
        if kind == "step_complete" and content.get("status") == "succeeded":
            text = ", ".join(f"{k}={_short(v)}" for k, v in content.get("outputs", {}).items())
        elif kind == "run_finished":
            text = content.get("status", "")
        elif kind == "approval_requested":
            text = content.get("hint", "")
        elif not text:
            text = json.dumps(content)[:200]
        who = f"{event.step_id}: " if event.step_id else ""
        style = STYLES.get(kind, "")
        line = (
            f"[dim]{event.seq:>4}[/] [{style or 'default'}]{kind:<18} {escape(who)}"
            f"{escape(_short(str(text), 400))}[/]"
        )
        self.console.print(line, highlight=False)


def _short(value: object, limit: int = 80) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def follow(
    container: Container,
    run_id: RunId,
    *,
    as_json: bool,
    drive: Callable[[], Awaitable[RunStatus]],
) -> int:
    """Drive the run while printing its events. Ctrl-C cancels; a second Ctrl-C exits: a
    cancellation under way completes if it can within 2 s, otherwise the run is detached
    (resumable, leases released); a third Ctrl-C exits at once."""
    from rich.console import Console
    from rich.live import Live

    from orchestra.engine.errors import RunBusy

    record = await container.store.get_run(run_id)
    console = Console(stderr=False)
    view = LiveView(console, {s.id: s.agent_name for s in record.definition.spec.steps})
    loop = asyncio.get_running_loop()
    presses = 0
    cancelling: list[asyncio.Task[bool]] = []

    def on_interrupt() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            Console(stderr=True).print(
                "[yellow]cancelling the run… press Ctrl-C again to exit at once "
                f"(resume later with `orchestra runs resume {run_id}`)[/]"
            )
            cancelling.append(loop.create_task(container.engine.cancel(run_id)))
        elif presses == 2:
            Console(stderr=True).print(
                "[yellow]exiting… what was not cancelled yet stays resumable: "
                f"`orchestra runs resume {run_id}` (Ctrl-C again to exit at once)[/]"
            )
            container.engine.detach_all("interrupted from the terminal")  # unless cancelling
            loop.call_later(2.0, os._exit, 130)  # "at once", even if a step is slow to stop
        else:
            os._exit(130)

    async def printer(live: Live | None) -> None:
        async for event in container.bus.subscribe(run_id, 0):
            if as_json:
                typer.echo(json.dumps(event.to_json()))
            else:
                view.handle(event)
                if live is not None:
                    live.update(view.table())

    loop.add_signal_handler(signal.SIGINT, on_interrupt)
    try:
        if as_json:
            printing = asyncio.create_task(printer(None))
            status = await _drive_or_exit(drive, RunBusy)
            await _stop_printing(printing, status)
        else:
            with Live(view.table(), console=console, refresh_per_second=4) as live:
                printing = asyncio.create_task(printer(live))
                status = await _drive_or_exit(drive, RunBusy)
                await _stop_printing(printing, status)
                live.update(view.table())
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        await asyncio.gather(*cancelling, return_exceptions=True)
    if not as_json:
        usage = (await container.store.get_run(run_id)).usage
        if not console.is_terminal:
            console.line()  # Live's last frame ends without a newline when not on a terminal
        console.print(
            f"run {run_id} [bold]{status.value}[/] · {usage.calls} model calls, "
            f"{usage.total_tokens} tokens, ${usage.cost_usd:.4f}"
        )
    if not status.terminal:  # detached: resumable, like an interrupted command
        return 130
    return EXIT_CODES.get(status.value, 1)


async def _stop_printing(printing: asyncio.Task[None], status: RunStatus) -> None:
    """A finished run's printer ends at ``run_finished``; a detached run has none, so its
    printer gets a moment for the events already published, then stops."""
    if status.terminal:
        await printing
        return
    await asyncio.sleep(0.1)
    printing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await printing


async def _drive_or_exit(
    drive: Callable[[], Awaitable[RunStatus]], busy: type[Exception]
) -> RunStatus:
    try:
        return await drive()
    except busy as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


def run(
    workflow: Annotated[str, typer.Argument(help="Workflow name (or path to a .workflow.md).")],
    inputs: Annotated[
        list[str] | None, typer.Option("--input", "-i", help="An input as Key=Value; repeatable.")
    ] = None,
    input_file: Annotated[
        Path | None, typer.Option("--input-file", help="A JSON object of inputs.")
    ] = None,
    files: Annotated[
        list[Path] | None,
        typer.Option(
            "--file",
            "-f",
            help="An input file, copied to the run's workspace as inputs/NAME and offered as "
            "the Files and FileNames inputs; repeatable.",
        ),
    ] = None,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a workflow and show it live. Exit 0 succeeded, 1 failed, 130 cancelled."""
    from orchestra.cli import run_files

    start_model_import()
    values = parse_inputs(inputs or [], input_file)
    given_files = run_files.read_files(files or [])
    settings = load_settings_or_exit(project)
    log_to_file(settings)
    spec = _load_spec(workflow, settings)
    declared = {item.name for item in spec.inputs}
    values = {**run_files.file_inputs(given_files, declared), **values}
    if given_files and not declared & set(run_files.FILE_INPUTS) and not as_json:
        typer.echo(
            f"note: workflow {spec.name} declares neither a Files nor a FileNames input; "
            "its agents find the files in the run's workspace under inputs/",
            err=True,
        )

    async def main() -> int:
        from orchestra.engine.errors import WorkflowInputError

        container = await open_container(settings)
        try:
            try:
                run_id = await container.runs.start_run(spec, values)
            except WorkflowInputError as error:
                typer.echo(f"error: {error}", err=True)
                return 2
            run_files.copy_to_workspace(settings, str(run_id), given_files)
            logging.getLogger(__name__).info(
                "run %s of workflow %s started from the command line", run_id, spec.name
            )
            if not as_json:
                typer.echo(f"run {run_id} · workflow {spec.name}")

            async def finished() -> RunStatus:
                return (await container.runs.wait(run_id)).status

            return await follow(container, run_id, as_json=as_json, drive=finished)
        finally:
            await container.close()

    code = asyncio.run(main())
    if code == 130:
        _exit_now(code)
    raise typer.Exit(code)


def _exit_now(code: int) -> None:
    """End an interrupted run's process without interpreter teardown. Everything is
    committed already; a daemon thread caught inside native code at teardown can abort
    the process instead of letting it exit 130 (seen in CI: "FATAL: exception not
    rethrown", exit -6)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()
    os._exit(code)


def _load_spec(workflow: str, settings: Any) -> Any:
    from orchestra.definitions import DefinitionError, format_diagnostics, load_workflow
    from orchestra.runtime.project_checks import ProjectChecks, load_project

    root = settings.project_dir
    try:
        candidate = Path(workflow)
        if workflow.endswith(".md") and candidate.is_file():
            allowed = settings.definitions.allow_paths
            return load_workflow(candidate, allowed, [ProjectChecks(settings)])
        return load_project(settings).workflow(workflow)
    except DefinitionError as error:
        typer.echo(format_diagnostics(error.diagnostics, root), err=True)
        raise typer.Exit(2) from error
