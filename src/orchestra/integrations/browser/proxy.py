"""A local forward proxy that checks and pins every connection the browser opens.

Chromium does not show the route handler the hops of a redirect (nor follow-ups
of a fulfilled redirect), so route interception alone cannot stop a public page
from redirecting the browser to ``127.0.0.1`` or the metadata address. The run's
Chromium therefore sends *all* its traffic through this proxy (Playwright's
``proxy`` option, with loopback not bypassed): each new connection's target —
the ``CONNECT host:port`` of an HTTPS tunnel, or the absolute URL of a plain
HTTP request — is resolved and checked by
:func:`orchestra.tools.netguard.resolve_checked`, and the proxy connects to the
checked address itself, so a DNS answer that changes after the check cannot
redirect the connection (the same pinning as
:class:`~orchestra.tools.http.GuardedTransport`).

A plain HTTP request is forwarded with ``Connection: close`` and the client
connection is closed after its response: one checked upstream per connection.
A refused target gets a ``403`` whose ``X-Orchestra-Refused`` header carries the
reason (for HTTP; a refused tunnel ends the CONNECT with 403), and the reason is
kept in :attr:`GuardProxy.refusals` for the tool's error message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from urllib.parse import urlsplit

from orchestra.tools.errors import BlockedAddressError, FetchError
from orchestra.tools.netguard import NetworkPolicy, Resolver, resolve_checked

REFUSED_HEADER = "X-Orchestra-Refused"
_MAX_HEAD = 64 * 1024
_HOP_HEADERS = frozenset(
    {b"proxy-connection", b"connection", b"keep-alive", b"proxy-authorization"}
)


class GuardProxy:
    """``async with GuardProxy(policy) as proxy:`` serves on ``proxy.url`` (127.0.0.1)."""

    def __init__(
        self,
        policy: NetworkPolicy,
        resolver: Resolver | None = None,
        *,
        timeout_s: float = 20.0,
        max_bytes: int = 10_000_000,
    ) -> None:
        self.policy = policy
        self.max_bytes = max_bytes
        self._resolver = resolver
        self._timeout = timeout_s
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.refusals: deque[tuple[str, str]] = deque(maxlen=20)
        """(target, reason) of the latest refused connections, newest last."""
        self.connections = 0
        """Upstream connections made (after a passing check)."""

    @property
    def url(self) -> str:
        assert self._server is not None, "the proxy is not started"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aenter__(self) -> GuardProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
        ):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with asyncio.timeout(self._timeout):
            head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _MAX_HEAD:
            return
        request_line, _, rest = head.partition(b"\r\n")
        try:
            method, target, version = request_line.decode("latin-1").split(" ", 2)
        except ValueError:
            return
        if method.upper() == "CONNECT":
            host, _, port_text = target.rpartition(":")
            host = host.strip("[]")
            port = int(port_text) if port_text.isdigit() else 443
            shown = f"https://{target}"
        else:
            parts = urlsplit(target)
            if parts.scheme != "http" or not parts.hostname:
                await _reply(writer, 400, "only absolute http:// requests may use this proxy")
                return
            host = parts.hostname
            try:
                port = parts.port or 80
            except ValueError:
                await _reply(writer, 400, "bad port")
                return
            shown = target
        try:
            address = await resolve_checked(host, port, self.policy, self._resolver)
        except (BlockedAddressError, FetchError) as exc:
            self.refusals.append((shown, exc.message))
            await _reply(writer, 403, exc.message)
            return
        try:
            async with asyncio.timeout(self._timeout):
                up_reader, up_writer = await asyncio.open_connection(str(address), port)
        except (OSError, TimeoutError) as exc:
            await _reply(writer, 502, f"cannot connect to {host}:{port}: {exc}")
            return
        self.connections += 1
        try:
            if method.upper() == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                await writer.drain()
            else:
                parts = urlsplit(target)
                path = parts.path or "/"
                if parts.query:
                    path += "?" + parts.query
                up_writer.write(_forward_head(method, path, version, rest))
                await up_writer.drain()
            received = await _pipe_both(reader, writer, up_reader, up_writer, self.max_bytes)
            if received > self.max_bytes:
                self.refusals.append(
                    (
                        shown,
                        f"{shown[:200]} sent more than {self.max_bytes} bytes "
                        "([plugins.browser] max_response_bytes); the connection was cut",
                    )
                )
        finally:
            up_writer.close()
            with contextlib.suppress(Exception):
                await up_writer.wait_closed()


def _forward_head(method: str, path: str, version: str, rest: bytes) -> bytes:
    lines = [f"{method} {path} {version}".encode("latin-1")]
    for line in rest.split(b"\r\n"):
        if not line:
            continue
        name = line.split(b":", 1)[0].strip().lower()
        if name not in _HOP_HEADERS:
            lines.append(line)
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _pipe_both(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
    max_bytes: int,
) -> int:
    """Copy both ways until the upstream side ends (then the client connection closes) or
    sends more than ``max_bytes``; return how many bytes came from upstream."""

    async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter, limit: int) -> int:
        total = 0
        while chunk := await src.read(65536):
            total += len(chunk)
            if total > limit:
                break
            dst.write(chunk)
            await dst.drain()
        return total

    upload = asyncio.create_task(copy(reader, up_writer, 1 << 62))
    try:
        return await copy(up_reader, writer, max_bytes)
    finally:
        upload.cancel()
        with contextlib.suppress(BaseException):
            await upload


async def _reply(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
    body = f"Refused by Orchestra's network guard: {reason}\n".encode()
    label = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
    safe = reason.replace("\r", " ").replace("\n", " ")[:500]
    writer.write(
        f"HTTP/1.1 {status} {label}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n{REFUSED_HEADER}: {safe}\r\nConnection: close\r\n\r\n".encode(
            "latin-1", "replace"
        )
        + body
    )
    await writer.drain()
