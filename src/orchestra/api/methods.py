"""HTTP methods: HEAD wherever GET works, and a 405 naming what the path really allows.

Routes declare GET only; :class:`HeadAsGet` answers HEAD by running GET and dropping
the body (headers, status and ``Content-Length`` stay those of GET). The web UI is
mounted at ``/`` and so matches every path: without :func:`allowed_methods` a wrong
method on an API path would reach the static files and answer their ``Allow: GET,
HEAD`` (or a 404), whatever the API route allows.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI
from starlette.routing import Match, Route, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def allowed_methods(app: FastAPI, scope: Scope) -> set[str]:
    """Every method the API answers on this path: its OpenAPI operations (the one list
    of what the server does) and the app's own plain routes (``/openapi.json``, ``/docs``)."""
    path = scope["path"]
    allowed: set[str] = set()
    for template, operations in app.openapi().get("paths", {}).items():
        pattern, _, _ = compile_path(template)
        if pattern.match(path):
            allowed |= {method.upper() for method in operations if method.upper() in _METHODS}
    probe = {**scope, "type": "http"}
    for route in app.router.routes:
        if isinstance(route, Route) and route.matches(probe)[0] is not Match.NONE:
            allowed |= set(route.methods or ())
    if "GET" in allowed:
        allowed.add("HEAD")
    return allowed


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def allow_header(methods: Iterable[str]) -> str:
    return ", ".join(sorted(methods))


class HeadAsGet:
    """Answer HEAD as GET without the body, for every HTTP route and the web UI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def bodiless(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # A copy: the server keeps its own scope saying HEAD and sends no body either.
        await self.app({**scope, "method": "GET"}, receive, bodiless)
