"""The FastAPI application factory.

``create_app(settings)`` builds the app; its lifespan opens a
:class:`~orchestra.runtime.container.Container` (database, engine, gateway …)
and closes it on shutdown. Pass ``container=`` to serve one the caller owns
(the ``serve`` command and tests do; they then close it themselves).

Middleware, outermost first: CORS (only when origins are configured), gzip,
request body size cap, HEAD answered as GET (:mod:`orchestra.api.methods`). Authentication, roles and rate limits are route
dependencies (:mod:`orchestra.api.deps`); errors are mapped in
:mod:`orchestra.api.errors`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from orchestra.api.deps import ApiOptions, ApiState
from orchestra.api.errors import install_error_handlers
from orchestra.api.limits import BodySizeLimit, RateLimiter
from orchestra.api.methods import HeadAsGet
from orchestra.api.metrics import ApiMetrics
from orchestra.api.routes import (
    admin,
    catalog,
    commands,
    context,
    health,
    messages,
    models,
    runs,
    team,
    tool_stats,
    workspaces,
)
from orchestra.api.web import WEB_DIR, mount_web_ui
from orchestra.api.websocket import router as websocket_router
from orchestra.config.settings import Settings
from orchestra.protocols.mount import GateMiddleware, ProtocolGate, ProtocolOptions
from orchestra.runtime.container import Container, ContainerOptions

API_PREFIX = "/api/v1"


def api_options(settings: Settings) -> ApiOptions:
    server = settings.server
    return ApiOptions(
        insecure_local=server.insecure_local,
        rate_limit=server.rate_limit,
        max_body_bytes=server.max_body_bytes,
        cors_origins=tuple(server.cors_origins),
        ws_max_message_bytes=server.ws_max_message_bytes,
        ws_origins=tuple(server.ws_origins),
    )


def create_app(
    settings: Settings,
    *,
    container: Container | None = None,
    options: ApiOptions | None = None,
    container_options: ContainerOptions | None = None,
    web_dir: Path = WEB_DIR,
) -> FastAPI:
    """The Orchestra API app for ``settings``; see the module docstring for ownership."""
    opts = options or api_options(settings)
    state = ApiState(options=opts, limiter=RateLimiter(opts.rate_limit), metrics=ApiMetrics())
    protocols = ProtocolGate(
        lambda: state.container,
        ProtocolOptions(insecure_local=opts.insecure_local, per_key_rate=opts.rate_limit),
    )
    if container is not None:
        state.container = container
        state.detach.append(container.feed.listen(state.metrics.observe))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = container is None
        if owned:
            state.container = await Container.open(settings, container_options)
            state.detach.append(state.container.feed.listen(state.metrics.observe))
        try:
            async with protocols.running():  # /mcp and /a2a (orchestra.protocols.mount)
                yield
        finally:
            state.stopping.set()
            for detach in state.detach:
                detach()
            state.detach.clear()
            if owned and state.container is not None:
                await state.container.close()
                state.container = None

    app = FastAPI(
        title="Orchestra API",
        version="1",
        description="Run teams of LLM agents: workflows, agents, runs, live events. "
        "See docs/api.md.",
        lifespan=lifespan,
    )
    app.state.api = state
    install_error_handlers(app)
    app.include_router(health.router)
    for router in (
        catalog.router,
        runs.router,
        team.tasks_router,
        team.agents_router,
        team.register_router,
        models.router,
        admin.router,
        tool_stats.router,
        workspaces.router,
        context.router,
        commands.router,
        messages.router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(websocket_router, prefix=API_PREFIX)
    app.add_middleware(GateMiddleware, gate=protocols)
    app.add_middleware(HeadAsGet)
    app.add_middleware(
        BodySizeLimit, max_bytes=opts.max_body_bytes, exempt_prefix=workspaces.UPLOAD_PREFIX
    )
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    if opts.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(opts.cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    mount_web_ui(app, web_dir)
    return app
