"""Runs: start, list, inspect, cancel, resume, approve or reject a step, read events and usage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from orchestra.api import schemas, views
from orchestra.api.deps import Operator, Services, Viewer, audit
from orchestra.api.routes import ERRORS
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.states import RunStatus

router = APIRouter(prefix="/runs", tags=["runs"], responses=ERRORS)


@router.post("", response_model=schemas.Run, status_code=201)
async def start_run(body: schemas.StartRun, who: Operator, services: Services) -> schemas.Run:
    """Start a run of a workflow with its inputs; it is driven in the background at once."""
    run_id = await services.runs.start_run(body.workflow, body.inputs)
    await audit(services, who, "run.start", run_id, {"workflow": body.workflow})
    return views.run(await services.runs.get(run_id))


@router.get("", response_model=schemas.RunPage)
async def list_runs(
    who: Viewer,
    services: Services,
    status: schemas.RunStatusName | None = None,
    workflow: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(pattern=views.RUN_CURSOR)] = None,
) -> schemas.RunPage:
    """Runs, newest first. Pass ``next_cursor`` back as ``cursor`` for the next page."""
    rows = await services.queries.page(
        limit + 1,
        status=RunStatus(status) if status else None,
        workflow=workflow,
        after=views.run_position(cursor) if cursor else None,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return schemas.RunPage(
        items=[views.run_summary(row) for row in rows],
        next_cursor=views.run_cursor(rows[-1]) if more and rows else None,
    )


@router.get("/{run_id}", response_model=schemas.Run)
async def get_run(run_id: str, who: Viewer, services: Services) -> schemas.Run:
    """A run with its steps, outputs, usage and approvals."""
    return views.run(await services.runs.get(RunId(run_id)))


@router.post("/{run_id}/cancel", response_model=schemas.Run)
async def cancel_run(run_id: str, who: Operator, services: Services) -> schemas.Run:
    """Cancel a run that has not finished (409 when it has)."""
    record = await services.runs.cancel(RunId(run_id))
    await audit(services, who, "run.cancel", run_id)
    return views.run(record)


@router.post("/{run_id}/resume", response_model=schemas.Run)
async def resume_run(run_id: str, who: Operator, services: Services) -> schemas.Run:
    """Drive an unfinished run nobody drives (409 when finished or driven elsewhere)."""
    record = await services.runs.resume(RunId(run_id))
    await audit(services, who, "run.resume", run_id)
    return views.run(record)


async def _decide(
    services: Services,
    who: Operator,
    run_id: str,
    step_id: str,
    decision: str,
    body: schemas.Decision | None,
) -> schemas.Run:
    reason = body.reason if body is not None else ""
    record = await services.runs.decide(
        RunId(run_id),
        StepId(step_id),
        "approved" if decision == "approve" else "rejected",
        f"{who.name} ({who.key_id})",
        reason,
    )
    await audit(services, who, f"step.{decision}", f"{run_id}/{step_id}", {"reason": reason})
    return views.run(record)


@router.post("/{run_id}/steps/{step_id}/approve", response_model=schemas.Run)
async def approve_step(
    run_id: str,
    step_id: str,
    who: Operator,
    services: Services,
    body: Annotated[schemas.Decision | None, Body()] = None,
) -> schemas.Run:
    """Approve a step waiting for approval (409 when it is not waiting)."""
    return await _decide(services, who, run_id, step_id, "approve", body)


@router.post("/{run_id}/steps/{step_id}/reject", response_model=schemas.Run)
async def reject_step(
    run_id: str,
    step_id: str,
    who: Operator,
    services: Services,
    body: Annotated[schemas.Decision | None, Body()] = None,
) -> schemas.Run:
    """Reject a step waiting for approval: it fails (409 when it is not waiting)."""
    return await _decide(services, who, run_id, step_id, "reject", body)


@router.get("/{run_id}/usage", response_model=schemas.RunUsage)
async def run_usage(run_id: str, who: Viewer, services: Services) -> schemas.RunUsage:
    """Every model call of the run (tokens, cost, latency, deployment, retries, fallbacks,
    cached, error) and their sums in total and by step, agent, model and deployment."""
    await services.runs.get(RunId(run_id))
    return views.run_usage(run_id, await services.usage.report(run_id))


@router.get("/{run_id}/events", response_model=schemas.EventPage)
async def list_events(
    run_id: str,
    who: Viewer,
    services: Services,
    after: Annotated[int, Query(ge=0, le=schemas.MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> schemas.EventPage:
    """Stored events with ``seq > after``, in order. ``last_seq`` is the seq of the last item
    returned (``after`` when none): pass it as ``after`` to continue, here or on the WebSocket."""
    await services.runs.get(RunId(run_id))
    events = await services.store.read_events(RunId(run_id), after, limit)
    return schemas.EventPage(
        items=[schemas.Event.model_validate(views.event(e)) for e in events],
        last_seq=events[-1].seq if events else after,
    )
