"""``orchestra serve``: the HTTP API, WebSocket and docs, with the engine in-process.

FastAPI, uvicorn and the engine are imported inside the command body so that
``orchestra --help`` stays fast.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestra.cli.project_opts import ProjectOption, project_root

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from orchestra.config import Settings

LOOPBACK = ("127.0.0.1", "::1", "localhost")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def serve(
    project: ProjectOption = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Interface to listen on (server.host).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", help="TCP port (server.port).", show_default=False)
    ] = None,
    insecure_local: Annotated[
        bool,
        typer.Option(
            "--insecure-local",
            help="Serve without API keys. Only allowed when listening on 127.0.0.1.",
        ),
    ] = False,
    log_level: Annotated[
        str | None, typer.Option("--log-level", help="Override log_level.", show_default=False)
    ] = None,
) -> None:
    """Serve the REST API under /api/v1, the WebSocket at /api/v1/ws and the docs at /docs.

    Runs interrupted by a crash are resumed at start. On the first start an
    admin API key is created and printed once.
    """
    from orchestra.cli.run_cmd import start_model_import
    from orchestra.config import ConfigError, load_settings

    start_model_import()  # /healthz answers meanwhile; the first run's model call waits
    root = project_root(project)
    try:
        settings = load_settings(
            root,
            overrides={
                "server.host": host,
                "server.port": port,
                "server.insecure_local": True if insecure_local else None,
                "log_level": log_level,
            },
            flags={
                "server.host": "--host",
                "server.port": "--port",
                "server.insecure_local": "--insecure-local",
                "log_level": "--log-level",
            },
        )
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    if settings.server.insecure_local and settings.server.host not in LOOPBACK:
        typer.echo(
            f"error: --insecure-local serves the API without keys, so it only listens on "
            f"127.0.0.1; server.host is {settings.server.host!r}. Drop --insecure-local (and "
            "use `orchestra keys create`), or listen on 127.0.0.1.",
            err=True,
        )
        raise typer.Exit(2)
    asyncio.run(_serve(settings))


async def _check_models(container: Any) -> None:
    from orchestra.llm.errors import ModelConfigError

    try:
        await container.gateway.ready()
    except ModelConfigError as error:
        log.error("the model configuration is wrong: %s", error)
        typer.echo(f"error: the model configuration is wrong: {error}", err=True)
    except Exception:
        log.exception("checking the model configuration failed")


async def _serve(settings: Settings) -> None:
    import uvicorn

    from orchestra.api.app import create_app
    from orchestra.log import setup_logging
    from orchestra.runtime.container import Container, ContainerOptions

    setup_logging(settings)
    container = await Container.open(
        settings,
        ContainerOptions(
            grace_s=settings.server.shutdown_grace_s, dispatch=settings.tasks.dispatch
        ),
    )
    # The model configuration is checked as soon as LiteLLM has loaded in the background,
    # not at the first model call: a wrong router setting is reported at start.
    checking = asyncio.create_task(_check_models(container), name="orchestra-check-models")
    closing: list[bool] = []
    previous = _absorb_stop_signals(closing)
    try:
        first_key = await container.keys.ensure_first_admin()
        if first_key is not None:
            typer.echo(
                "\nCreated the first admin API key. It is shown only this once; store it now:\n\n"
                f"    {first_key}\n\n"
                "Use it as 'Authorization: Bearer <key>'. More keys: `orchestra keys create`.\n"
            )
        app = create_app(settings, container=container)
        if settings.server.insecure_local:
            typer.echo("warning: --insecure-local: requests from this machine need no API key")
        base = f"http://{settings.server.host}:{settings.server.port}"
        typer.echo(f"Web UI: {base}/   API docs: {base}/docs   (Ctrl-C stops the server)")
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=settings.server.host,
                port=settings.server.port,
                log_config=None,
                timeout_graceful_shutdown=5,
                ws_ping_interval=20,
            )
        )
        loop = asyncio.get_running_loop()
        stopping = app.state.api.stopping
        uvicorn_handle_exit = server.handle_exit

        def handle_exit(sig: int, frame: object) -> None:
            # Tell WebSockets first so they close with 1001 before uvicorn drops them.
            loop.call_soon_threadsafe(stopping.set)
            uvicorn_handle_exit(sig, frame)  # type: ignore[arg-type]

        server.handle_exit = handle_exit  # type: ignore[method-assign]
        await server.serve()
    finally:
        closing.append(True)
        checking.cancel()
        try:
            await container.close()  # detaches the runs still in flight (RunService.close)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _absorb_stop_signals(closing: list[bool]) -> dict[int, Any]:
    """uvicorn re-raises the signal that stopped it once it has shut down, which would end
    the process before the runs in flight are detached (left for the next start to
    resume). Absorb that one; a further Ctrl-C/SIGTERM while closing exits at once."""

    def handler(sig: int, frame: object) -> None:
        if closing:
            os._exit(128 + sig)

    return {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
