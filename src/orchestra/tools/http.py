"""The HTTP transport tools talk through: the network guard in one place, swappable in tests.

A tool (an integration: GitHub, email, sheets...) that calls an HTTP API asks
its context for a client, ``async with ctx.http_client() as client:``, and never
builds its own. The client's transport is the context's ``transport``:

* by default a :class:`GuardedTransport` built from the ``[tools]`` network
  policy: every request — each redirect hop too, since httpx sends each hop
  through the transport — has its host resolved and checked by
  :mod:`orchestra.tools.netguard` (no private, loopback or metadata address
  unless allowed) and is connected to the checked address only, so a DNS
  answer cannot change between the check and the connection;
* in tests, any ``httpx.AsyncBaseTransport``: ``httpx.MockTransport`` or
  respx's ``respx.MockRouter`` as a transport, for third-party APIs the tests
  cannot reach.

Transport failures come out as httpx's own exceptions (``httpx.ConnectError``,
``httpx.ReadTimeout``...), as from any httpx client; a refused address raises
:class:`~orchestra.tools.errors.BlockedAddressError`.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterable

import httpcore
import httpx

from orchestra.tools.errors import BlockedAddressError
from orchestra.tools.netguard import IPAddress, NetworkPolicy, Resolver, resolve_checked

_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def _translate(exc: Exception, request: httpx.Request) -> Exception:
    """httpcore's exception as httpx's (what callers of an httpx client catch)."""
    for core, ours in _ERRORS:
        if isinstance(exc, core):
            return ours(str(exc), request=request)
    return exc


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to the address that was checked, whatever host httpcore asks for."""

    def __init__(self, host: str, address: IPAddress) -> None:
        self._host = host.strip("[]").lower()
        self._address = str(address)
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend signature
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if host.strip("[]").lower() != self._host:
            raise BlockedAddressError(f"connection to unchecked host {host!r} refused")
        return await self._inner.connect_tcp(
            self._address,
            port,
            timeout=timeout,
            local_address=local_address,
            socket_options=socket_options,
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's backend signature
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("unix sockets are not reachable from agent tools")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Body(httpx.AsyncByteStream):
    """A response body that closes its one-request connection pool when closed."""

    def __init__(
        self,
        response: httpcore.Response,
        pool: httpcore.AsyncConnectionPool,
        request: httpx.Request,
    ) -> None:
        self._response = response
        self._pool = pool
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_stream():
                yield chunk
        except Exception as exc:
            raise _translate(exc, self._request) from exc

    async def aclose(self) -> None:
        try:
            await self._response.aclose()
        finally:
            await self._pool.aclose()


class GuardedTransport(httpx.AsyncBaseTransport):
    """Checks every request's address against ``policy`` and connects to that address only.

    ``resolver`` replaces DNS (tests); ``ssl_context`` the default certificate checks.
    """

    def __init__(
        self,
        policy: NetworkPolicy,
        *,
        resolver: Resolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self._resolver = resolver
        self._ssl = ssl_context or ssl.create_default_context()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https") or not url.host:
            raise httpx.UnsupportedProtocol(
                f"URL {url} must start with http:// or https:// and name a host", request=request
            )
        port = url.port or (443 if url.scheme == "https" else 80)
        address = await resolve_checked(url.host, port, self.policy, self._resolver)
        pool = httpcore.AsyncConnectionPool(
            ssl_context=self._ssl, network_backend=PinnedBackend(url.host, address), retries=0
        )
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = await pool.handle_async_request(core_request)
        except Exception as exc:
            await pool.aclose()
            raise _translate(exc, request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Body(response, pool, request),
            extensions=response.extensions,
        )


__all__ = ["GuardedTransport"]
