"""``/mcp`` and ``/a2a/...`` on ``orchestra serve``: one ASGI gate in front of both.

The gate answers the two path prefixes and passes every other request on to the REST
app. For its own paths it authenticates the caller exactly as the REST API does (an
Orchestra API key in ``Authorization: Bearer`` or ``X-API-Key``; without one only under
``--insecure-local`` from this machine), applies the per-protocol rate limits
(:mod:`orchestra.protocols.limits`) and then hands the request to

* the MCP streamable-HTTP session manager (:mod:`orchestra.protocols.mcp_server`), with
  the caller's identity in the ASGI scope for the tool handler's role check; or
* the A2A agent of ``/a2a/<agents|workflows>/<name>/`` (:mod:`orchestra.protocols.a2a_server`),
  whose SDK routes are built on first use and rebuilt when its definition changes.
  Sending a message needs the ``operator`` role; reading the card any key.

Refusals use the API's error envelope ``{"error": {"code", "message", "details"}}``.
:meth:`ProtocolGate.running` must be entered for the app's lifetime (the MCP session
manager's task group); the app's lifespan does it.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from orchestra.protocols.a2a_server import A2aTarget, a2a_routes, a2a_targets
from orchestra.protocols.limits import ProtocolLimits
from orchestra.protocols.mcp_server import IDENTITY_KEY, build_mcp_server
from orchestra.protocols.runs import RunBridge
from orchestra.runtime.container import Container
from orchestra.runtime.keys import LOCAL_IDENTITY, Identity

MCP_PATH = "/mcp"
A2A_PREFIX = "/a2a"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


@dataclass(frozen=True, slots=True)
class ProtocolOptions:
    insecure_local: bool = False
    per_key_rate: str = "600/minute"
    """Calls one key may make per protocol."""
    per_target_rate: str = "300/minute"
    """Calls one exposed agent or workflow may receive over A2A, from all keys together."""


class ProtocolGate:
    """Routes ``/mcp`` and ``/a2a/...`` to the protocol servers; everything else to ``app``."""

    def __init__(
        self,
        container: Callable[[], Container | None],
        options: ProtocolOptions | None = None,
    ) -> None:
        self.options = options or ProtocolOptions()
        self._container = container
        self.bridge = RunBridge(self._require_container)
        self.limits = ProtocolLimits(self.options.per_key_rate, self.options.per_target_rate)
        self.mcp = build_mcp_server(self._require_container)
        self.sessions = StreamableHTTPSessionManager(app=self.mcp, security_settings=None)
        self._a2a: dict[tuple[str, str], tuple[str, Starlette]] = {}

    def _require_container(self) -> Container:
        container = self._container()
        if container is None:
            raise RuntimeError("the server is starting or stopping")
        return container

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Keep the MCP session manager running (enter once, for the app's lifetime)."""
        async with self.sessions.run():
            yield

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """The ASGI app that serves the protocol paths and passes the rest to ``app``."""

        async def gate(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "") if scope["type"] == "http" else ""
            if path == MCP_PATH or path.startswith(MCP_PATH + "/"):
                await self._mcp(scope, receive, send)
            elif path.startswith(A2A_PREFIX + "/"):
                await self._a2a_request(scope, receive, send)
            else:
                await app(scope, receive, send)

        return gate

    # ------------------------------------------------------------------ common

    async def _identity(self, scope: Scope, send: Send) -> Identity | None:
        container = self._container()
        if container is None:
            await _error(send, 503, "unavailable", "the server is starting or stopping; retry")
            return None
        key = _presented_key(scope)
        if key:
            identity = await container.keys.verify(key)
            if identity is None:
                await _error(
                    send,
                    401,
                    "unauthorized",
                    "API key not recognised or revoked; create one with `orchestra keys create`",
                )
            return identity
        client = scope.get("client")
        host = client[0] if client else None
        if self.options.insecure_local and (host is None or host in LOOPBACK_HOSTS):
            return LOCAL_IDENTITY
        await _error(
            send,
            401,
            "unauthorized",
            "this endpoint needs an API key: send 'Authorization: Bearer <key>' (create one "
            "with `orchestra keys create --role operator --name me`)",
        )
        return None

    async def _limited(self, send: Send, protocol: str, who: Identity, target: str | None) -> bool:
        refusal = self.limits.check(protocol, who.key_id, target)
        if refusal is None:
            return False
        seconds = max(1, math.ceil(refusal.retry_after_s))
        await _error(
            send,
            429,
            "rate_limited",
            f"too many {refusal.limit}; retry in {seconds}s or raise the protocols rate limit",
            {"retry_after_s": seconds, "limit": refusal.limit},
            {"retry-after": str(seconds)},
        )
        return True

    # --------------------------------------------------------------------- MCP

    async def _mcp(self, scope: Scope, receive: Receive, send: Send) -> None:
        identity = await self._identity(scope, send)
        if identity is None or await self._limited(send, "mcp", identity, None):
            return
        await self.sessions.handle_request({**scope, IDENTITY_KEY: identity}, receive, send)

    # --------------------------------------------------------------------- A2A

    async def _a2a_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        parts = scope["path"].removeprefix(A2A_PREFIX + "/").split("/", 2)
        if len(parts) < 2 or parts[0] not in ("agents", "workflows") or not parts[1]:
            await _error(
                send,
                404,
                "not_found",
                "A2A agents live at /a2a/agents/<name>/ and /a2a/workflows/<name>/",
            )
            return
        identity = await self._identity(scope, send)
        if identity is None:
            return
        kind, name = parts[0], parts[1]
        targets = a2a_targets(self.bridge)
        target = targets.get((kind, name))
        if target is None:
            names = ", ".join(f"/a2a/{k}/{n}/" for k, n in sorted(targets)) or "none"
            await _error(
                send,
                404,
                "not_found",
                f"no A2A agent at /a2a/{kind}/{name}/ (mark it 'expose: [a2a]'); served: {names}",
            )
            return
        if scope["method"] == "POST" and not identity.allows("operator"):
            await _error(
                send,
                403,
                "forbidden",
                f"sending a message starts a run, which needs the operator role; key "
                f"{identity.key_id!r} is {identity.role}",
            )
            return
        if await self._limited(send, "a2a", identity, f"{kind}/{name}"):
            return
        base_path = f"{scope.get('root_path', '')}{A2A_PREFIX}/{kind}/{name}"
        app = self._a2a_app(target, _base_url(scope, base_path))
        if len(parts) == 2:  # /a2a/agents/x without the slash: the JSON-RPC root
            scope = {**scope, "path": scope["path"] + "/"}
        await app({**scope, "root_path": base_path}, receive, send)

    def _a2a_app(self, target: A2aTarget, base_url: str) -> Starlette:
        key = (target.kind, target.name)
        stamp = f"{target.fingerprint}|{base_url}"
        cached = self._a2a.get(key)
        if cached is None or cached[0] != stamp:
            cached = (stamp, Starlette(routes=a2a_routes(self.bridge, target, base_url)))
            self._a2a[key] = cached
        return cached[1]


def _headers(scope: Scope) -> dict[str, str]:
    raw: list[tuple[bytes, bytes]] = scope["headers"]
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw}


def _presented_key(scope: Scope) -> str | None:
    headers = _headers(scope)
    authorization = headers.get("authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = headers.get("x-api-key", "").strip()
    return key or None


def _base_url(scope: Scope, base_path: str) -> str:
    headers = _headers(scope)
    host = headers.get("host")
    if host is None:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}{base_path}/"


async def _error(
    send: Send,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "details": details or {}}})
    raw = [(b"content-type", b"application/json")]
    if status == 401:
        raw.append((b"www-authenticate", b"Bearer"))
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body.encode()})


class GateMiddleware:
    """:class:`ProtocolGate` as a Starlette middleware class (``app.add_middleware``)."""

    def __init__(self, app: ASGIApp, gate: ProtocolGate) -> None:
        self._app = gate.middleware(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)
