"""Request dependencies: the app's state, who is calling, what their role allows, audit.

Routes declare what they need (``Viewer``, ``Operator``, ``Admin``); the
dependency authenticates the key (``Authorization: Bearer`` or ``X-API-Key``),
applies the caller's rate limit, and checks the role, so no route repeats an
authorisation check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from orchestra.api.errors import ApiError, forbidden, rate_limited, unauthorized
from orchestra.api.limits import RateLimiter
from orchestra.api.metrics import ApiMetrics
from orchestra.errors import OrchestraError
from orchestra.runtime.container import Container
from orchestra.runtime.keys import LOCAL_IDENTITY, Identity, Role

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
REFUSALS_AUDITED = "20/minute"
"""Refused attempts one client address may add to the audit log: enough to see an
attack or a misconfigured client, too few for a flood to fill the log."""


@dataclass(frozen=True, slots=True)
class ApiOptions:
    """How the API behaves, independent of the project (see docs/api.md, docs/deployment.md)."""

    insecure_local: bool = False
    """Serve callers without a key as admin; only for loopback (enforced by ``serve``)."""
    rate_limit: str = "600/minute"
    max_body_bytes: int = 1_000_000
    cors_origins: tuple[str, ...] = ()
    ws_buffer: int = 1000
    """Messages a WebSocket may fall behind before it is closed with 4408."""
    ws_ping_s: float = 15.0
    ws_auth_timeout_s: float = 10.0
    ws_max_message_bytes: int = 65_536
    """Largest incoming WebSocket message; bigger ones close the connection with 1009."""
    ws_origins: tuple[str, ...] = ()
    """Browser origins allowed to open a WebSocket besides this server's and localhost's."""


@dataclass
class ApiState:
    """Everything routes share, on ``app.state.api``. ``container`` is set by the lifespan."""

    options: ApiOptions
    limiter: RateLimiter
    metrics: ApiMetrics
    container: Container | None = None
    detach: list[Callable[[], None]] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the server begins to shut down: WebSockets close with 1001."""
    refusals: RateLimiter = field(default_factory=lambda: RateLimiter(REFUSALS_AUDITED))
    """How many refused attempts (401/403) per client address reach the audit log."""

    @property
    def services(self) -> Container:
        if self.container is None:
            raise ApiError(503, "unavailable", "the server is starting or stopping; retry shortly")
        return self.container


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


def services(request: Request) -> Container:
    return api_state(request).services


Services = Annotated[Container, Depends(services)]


def presented_key(headers: Any) -> str | None:
    """The API key in ``Authorization: Bearer …`` or ``X-API-Key``; never logged."""
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return str(value.strip())
    key = headers.get("x-api-key")
    return str(key).strip() if key else None


async def authenticate(state: ApiState, key: str | None, client_host: str | None) -> Identity:
    """The caller's identity, or ApiError 401 saying how to authenticate."""
    if key:
        identity = await state.services.keys.verify(key)
        if identity is None:
            raise unauthorized(
                "API key not recognised or revoked; create one with `orchestra keys create`"
            )
        return identity
    if state.options.insecure_local and (client_host is None or client_host in LOOPBACK_HOSTS):
        return LOCAL_IDENTITY
    raise unauthorized(
        "this endpoint needs an API key: send 'Authorization: Bearer <key>' (create one with "
        "`orchestra keys create --role viewer --name me`)"
    )


def require(role: Role) -> Callable[[Request], Awaitable[Identity]]:
    """A dependency admitting callers whose role is ``role`` or higher."""

    async def dependency(request: Request) -> Identity:
        state = api_state(request)
        client = request.client.host if request.client else None
        try:
            identity = await authenticate(state, presented_key(request.headers), client)
        except ApiError as unknown:
            await audit_refusal(state, request, unknown, "-")
            raise
        wait = state.limiter.check(identity.key_id)
        if wait is not None:
            raise rate_limited(wait)
        if not identity.allows(role):
            denied = forbidden(
                f"this needs the {role} role; key {identity.key_id!r} is {identity.role}. "
                "Ask an admin for a key with that role"
            )
            await audit_refusal(state, request, denied, identity.key_id)
            raise denied
        return identity

    return dependency


Viewer = Annotated[Identity, Depends(require("viewer"))]
Operator = Annotated[Identity, Depends(require("operator"))]
Admin = Annotated[Identity, Depends(require("admin"))]


async def audit(
    container: Container,
    who: Identity,
    action: str,
    target: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Record a state-changing call (who, what, when) in the audit log."""
    await container.audit.append(who.key_id, action, target, details or {})


async def audit_refusal(state: ApiState, request: Request, refused: ApiError, key_id: str) -> None:
    """Record a refused attempt (401/403) in the audit log, at most ``REFUSALS_AUDITED``
    per client address; the presented key itself is never recorded."""
    if refused.status not in (401, 403) or state.container is None:
        return
    client = request.client.host if request.client else "unknown"
    if state.refusals.check(client) is not None:
        return
    action = "auth.refused" if refused.status == 401 else "auth.forbidden"
    details = {"status": refused.status, "client": client}
    try:
        await state.container.audit.append(
            key_id, action, f"{request.method} {request.url.path}", details
        )
    except OrchestraError as error:  # the refusal still answers; the log says why it is missing
        log.warning("could not audit a refused attempt: %s", error)
