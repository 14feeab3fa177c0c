"""Serving the built web UI (``src/orchestra/web/``, made by scripts/build-frontend.sh) at ``/``.

The UI routes with ``#/…`` URLs, so the server only ever serves ``index.html``
and its assets. A checkout whose UI was never built answers ``/`` with a page
that says how to build it, instead of a bare 404.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

_NOT_BUILT = """<!doctype html><title>Orchestra</title>
<h1>The web UI is not built</h1>
<p>Run <code>scripts/build-frontend.sh</code> (the README's first command does it),
then reload. The API is at <a href="/docs">/docs</a>.</p>"""


def mount_web_ui(app: FastAPI, directory: Path = WEB_DIR) -> None:
    """Serve the UI at ``/``; call after every API route is added so those win."""
    if (directory / "index.html").is_file():
        app.mount("/", StaticFiles(directory=directory, html=True), name="web")
        return

    @app.get("/", include_in_schema=False)
    async def not_built() -> HTMLResponse:
        return HTMLResponse(_NOT_BUILT, status_code=503)
