"""Request limits: a rate limit per API key and a cap on request body size.

Rate limiting uses the ``limits`` package's moving-window strategy over
in-memory storage (one server process); the limit is a ``limits`` string such
as ``"600/minute"`` (``server.rate_limit``). An exhausted key gets 429 with
``Retry-After`` (seconds until the window frees a slot).

The body cap is an ASGI middleware so it sees the bytes before anything
parses them: a declared ``Content-Length`` over the cap is refused at once,
and a chunked body is counted as it streams and cut off at the cap.
"""

from __future__ import annotations

import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestra.api.errors import error_response, payload_too_large


class RateLimiter:
    """Per-key moving-window limiter. ``check`` returns None, or seconds to wait."""

    def __init__(self, rate: str) -> None:
        try:
            self.item = parse(rate)
        except ValueError as exc:
            raise ValueError(
                f"server.rate_limit {rate!r} is not a rate; write e.g. '600/minute' or '20/second'"
            ) from exc
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, key: str) -> float | None:
        if self._limiter.hit(self.item, "orchestra-api", key):
            return None
        stats = self._limiter.get_window_stats(self.item, "orchestra-api", key)
        return max(0.0, stats.reset_time - time.time())


class BodySizeLimit:
    """Refuse HTTP request bodies longer than ``max_bytes`` with 413 ``payload_too_large``."""

    def __init__(self, app: ASGIApp, max_bytes: int, exempt_prefix: str | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt_prefix = exempt_prefix
        """Paths that enforce a limit of their own (file uploads), not this one."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        exempt = self.exempt_prefix is not None and str(scope.get("path", "")).startswith(
            self.exempt_prefix
        )
        if scope["type"] != "http" or exempt:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await error_response(payload_too_large(self.max_bytes))(scope, receive, send)
                    return
        seen = 0
        started = False
        refused = False

        async def counted_receive() -> Message:
            # Over the cap, answer 413 here and tell the app the client left: frameworks turn
            # exceptions raised while reading the body into their own 400.
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not started:
                    refused = True
                    await error_response(payload_too_large(self.max_bytes))(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, tracked_send)
