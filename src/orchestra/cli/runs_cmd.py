"""``orchestra runs list|show|events|resume|cancel|approve|reject``.

Read-only commands, cancel and the decision itself open only the database
(:class:`~orchestra.engine.control.RunControl`); commands that may then execute
steps (resume, approve, reject of a run nobody drives) build the whole runtime,
as ``orchestra run`` does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from orchestra.cli.project_opts import JsonOption, ProjectOption
from orchestra.cli.run_cmd import follow, load_settings_or_exit, open_container

if TYPE_CHECKING:
    from orchestra.engine.protocols import Decision, RunRecord
    from orchestra.llm.usage import UsageReport
    from orchestra.store.run_store import SqlRunStore

app = typer.Typer(help="List, inspect, resume, cancel and approve runs.", no_args_is_help=True)
T = TypeVar("T")
RunArg = Annotated[str, typer.Argument(help="Run id (see `orchestra runs list`).")]


def _with_store(project: Path | None, work: Callable[[SqlRunStore], Awaitable[T]]) -> T:
    from orchestra.engine.errors import EngineError
    from orchestra.store.database import connect
    from orchestra.store.run_store import SqlRunStore

    settings = load_settings_or_exit(project)

    async def main() -> T:
        database = await connect(settings.database.url)
        try:
            async with SqlRunStore(database) as store:
                return await work(store)
        finally:
            await database.aclose()

    try:
        return asyncio.run(main())
    except EngineError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


def _when(value: float | None) -> str:
    return dt.datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


@app.command("list")
def list_runs(
    limit: Annotated[int, typer.Option(help="How many runs, newest first.")] = 20,
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """The newest runs and their status."""
    from rich.console import Console
    from rich.table import Table

    rows = _with_store(project, lambda store: store.list_runs(limit))
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "workflow": r.workflow,
                        "status": r.status,
                        "created_at": r.created_at,
                        "finished_at": r.finished_at,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return
    table = Table("run", "workflow", "status", "created", "finished")
    for r in rows:
        table.add_row(r.id, r.workflow, r.status, _when(r.created_at), _when(r.finished_at))
    Console().print(table)


@app.command("show")
def show(run_id: RunArg, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """A run's steps, attempts, outputs, approvals and usage (per step, agent, model and
    deployment)."""
    from rich.console import Console

    from orchestra.engine.ids import RunId
    from orchestra.store.usage_store import SqlUsageStore

    async def read(store: SqlRunStore) -> tuple[RunRecord, UsageReport, dict[str, str | None]]:
        record = await store.get_run(RunId(run_id))
        workers = {str(a.step_id): a.worker for a in await store.list_attempts(RunId(run_id))}
        return record, await SqlUsageStore(store.database).report(run_id), workers

    record, report, workers = _with_store(project, read)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "id": record.run_id,
                    "workflow": record.definition.spec.name,
                    "source_hash": record.definition.source_hash,
                    "status": record.status.value,
                    "inputs": dict(record.definition.inputs),
                    "usage": record.usage.to_json(),
                    "steps": {
                        sid: {
                            "status": s.status.value,
                            "attempt": s.attempt,
                            "outputs": dict(s.outputs),
                            "usage": s.usage.to_json(),
                            "error": s.error,
                            "worker": workers.get(sid),
                        }
                        for sid, s in record.steps.items()
                    },
                    "approvals": {
                        sid: {"decision": a.decision, "by": a.decided_by, "reason": a.reason}
                        for sid, a in record.approvals.items()
                    },
                    "model_calls": {
                        "total": report.total.model_dump(),
                        "by_step": {k: v.model_dump() for k, v in report.by_step.items()},
                        "by_agent": {k: v.model_dump() for k, v in report.by_agent.items()},
                        "by_model": {k: v.model_dump() for k, v in report.by_model.items()},
                        "by_deployment": {
                            k: v.model_dump() for k, v in report.by_deployment.items()
                        },
                        "failed_attempts": [
                            {"step_id": c.step_id, "agent": c.agent, **a.model_dump()}
                            for c in report.calls
                            for a in c.usage.failed_attempts
                        ],
                    },
                },
                indent=2,
            )
        )
        return
    from orchestra.cli.runs_view import print_run

    print_run(Console(), record, report)


@app.command("report")
def report(
    run_id: RunArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="PDF to write (default run-<id>.pdf).")
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Write a PDF report of a run: steps, timings, outputs, usage and cost charts
    (needs the ``integrations`` extra)."""
    from orchestra.engine.ids import RunId
    from orchestra.store.usage_store import SqlUsageStore

    async def read(store: SqlRunStore) -> tuple[RunRecord, UsageReport]:
        record = await store.get_run(RunId(run_id))
        return record, await SqlUsageStore(store.database).report(run_id)

    record, usage = _with_store(project, read)
    try:
        from orchestra.integrations.pdf.run_report import write_run_report
    except ImportError as error:  # pragma: no cover - the extra is missing
        typer.echo(
            f"error: {error}; install the extra: pip install 'orchestra[integrations]'", err=True
        )
        raise typer.Exit(2) from error
    target = output or Path(f"run-{run_id}.pdf")
    size = write_run_report(record, usage, target)
    typer.echo(f"wrote {target} ({size} bytes)")


@app.command("events")
def events(
    run_id: RunArg,
    after: Annotated[int, typer.Option(help="Only events with a larger seq.")] = 0,
    project: ProjectOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON array instead of JSON lines.")
    ] = False,
) -> None:
    """A run's stored events in sequence order: JSON lines (one event a line, for
    streaming tools), or with ``--json`` one JSON array like the other listings."""
    from orchestra.engine.ids import RunId

    stored = _with_store(project, lambda store: store.read_events(RunId(run_id), after))
    if as_json:
        typer.echo(json.dumps([event.to_json() for event in stored], indent=2))
        return
    for event in stored:
        typer.echo(json.dumps(event.to_json()))


@app.command("cancel")
def cancel(run_id: RunArg, project: ProjectOption = None) -> None:
    """Cancel a run: at once if no live process drives it, else ask that process to stop."""
    from orchestra.engine.control import CancelOutcome, RunControl
    from orchestra.engine.ids import RunId

    async def work(store: SqlRunStore) -> CancelOutcome:
        return await RunControl(store).cancel(RunId(run_id))

    outcome = _with_store(project, work)
    if outcome is CancelOutcome.CANCELLED:
        typer.echo(f"run {run_id} cancelled")
    elif outcome is CancelOutcome.FINISHED:
        typer.echo(f"run {run_id} had already finished; nothing to cancel")
    else:
        typer.echo(f"asked the process driving run {run_id} to cancel it")


def _driven_elsewhere(record: RunRecord) -> bool:
    """Whether a live process holds the run's lease (then it acts on what is stored)."""
    from orchestra.engine.ids import owner_is_dead

    return bool(
        record.owner
        and not owner_is_dead(record.owner)
        and (record.lease_expires_at or 0) > time.time()
    )


def _drive(run_id: str, project: Path | None, as_json: bool) -> None:
    """Drive the run live here if nobody does."""
    from orchestra.engine.errors import EngineError
    from orchestra.engine.ids import RunId

    settings = load_settings_or_exit(project)
    rid = RunId(run_id)

    async def main() -> int:
        container = await open_container(settings)
        try:
            record = await container.store.get_run(rid)
            if record.status.terminal:
                typer.echo(f"run {rid} already {record.status.value}")
                return {"succeeded": 0, "failed": 1, "cancelled": 130}[record.status.value]
            if _driven_elsewhere(record):
                typer.echo(f"run {rid} is driven by {record.owner}; it continues there")
                return 0
            return await follow(
                container, rid, as_json=as_json, drive=lambda: container.engine.drive(rid)
            )
        except EngineError as error:
            typer.echo(f"error: {error}", err=True)
            return 2
        finally:
            await container.close()

    raise typer.Exit(asyncio.run(main()))


@app.command("resume")
def resume(run_id: RunArg, project: ProjectOption = None, as_json: JsonOption = False) -> None:
    """Continue an unfinished run (after a crash or Ctrl-C): finished steps are kept."""
    from orchestra.cli.run_cmd import log_to_file, start_model_import

    start_model_import()
    log_to_file(load_settings_or_exit(project))
    _drive(run_id, project, as_json)


def _decide(
    decision: Decision,
    run_id: str,
    step: str,
    by: str,
    reason: str,
    project: Path | None,
    as_json: bool,
) -> None:
    """Record the decision through the store alone, then drive the run here if nobody
    does (a live driver elsewhere reads the decision on its next heartbeat)."""
    from orchestra.engine.control import RunControl
    from orchestra.engine.ids import RunId, StepId

    async def record(store: SqlRunStore) -> RunRecord:
        rid = RunId(run_id)
        await RunControl(store).decide(rid, StepId(step), decision, by, reason)
        return await store.get_run(rid)

    after = _with_store(project, record)
    typer.echo(f"{decision} step {step} of run {run_id} (by {by})")
    if _driven_elsewhere(after):  # read in the same session: the driver may finish soon
        typer.echo(f"run {run_id} is driven by {after.owner}; it continues there")
        return
    _drive(run_id, project, as_json)


ByOption = Annotated[str, typer.Option("--by", help="Who decides (recorded).")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (recorded).")]


@app.command("approve")
def approve(
    run_id: RunArg,
    step: Annotated[str, typer.Argument(help="The step to approve.")],
    by: ByOption = "cli",
    reason: ReasonOption = "",
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a step that waits for approval; the run goes on (here, if nobody drives it)."""
    _decide("approved", run_id, step, by, reason, project, as_json)


@app.command("reject")
def reject(
    run_id: RunArg,
    step: Annotated[str, typer.Argument(help="The step to reject.")],
    by: ByOption = "cli",
    reason: ReasonOption = "",
    project: ProjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reject a step that waits for approval; the step and the run fail."""
    _decide("rejected", run_id, step, by, reason, project, as_json)
