"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import generate_latest

from orchestra.api.deps import Viewer, api_state
from orchestra.api.errors import ApiError
from orchestra.api.metrics import CONTENT_TYPE
from orchestra.api.routes import ERRORS
from orchestra.api.schemas import ErrorEnvelope, Status

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Status)
async def healthz() -> Status:
    """The process is up (no key needed)."""
    return Status()


@router.get(
    "/readyz",
    response_model=Status,
    responses={503: {"model": ErrorEnvelope, "description": "Not ready"}},
)
async def readyz(request: Request) -> Status:
    """The process accepts work: database open, runs service accepting (no key needed)."""
    container = api_state(request).container
    if container is None or not container.runs.accepting:
        raise ApiError(503, "unavailable", "not ready: starting or shutting down")
    return Status()


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        **ERRORS,
        200: {"content": {CONTENT_TYPE: {"schema": {"type": "string"}}}, "description": "Metrics"},
    },
)
async def metrics(request: Request, who: Viewer) -> Response:
    """Prometheus metrics: runs by state, step latency histogram, tokens, cost, messages."""
    state = api_state(request)
    body = await state.metrics.render(state.services.queries)
    bus = getattr(state.services, "messages", None)
    if bus is not None:  # the message bus's own registry (docs/messaging.md)
        await bus.refresh_metrics()
        body += generate_latest(bus.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE)
