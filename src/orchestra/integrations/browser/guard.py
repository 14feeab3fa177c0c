"""The network guard of ``http.fetch``, applied to every request the browser makes.

The browser context routes every request (``context.route("**/*")``) and every
WebSocket (``context.route_web_socket``) through :class:`RequestGuard`, which
resolves the host and checks each address with
:func:`orchestra.tools.netguard.resolve_checked` under the ``[tools]`` policy
(private, loopback and link-local addresses refused unless
``tools.allow_private_network`` or ``tools.http_allowed_networks`` allows them;
cloud metadata addresses always). A refused request is aborted
(``blockedbyclient``) and its reason kept, so the tool that navigated can say
*why* the page did not load rather than report Chromium's ``net::`` code.

Route interception does not see the hops of a redirect, so the requests the
handler lets through go on through Chromium's network stack to
:class:`~orchestra.integrations.browser.proxy.GuardProxy`, the run's forward
proxy, which checks every connection again (redirect hops included) and pins it
to the checked address. The route handler is the fast, explicit first line: it
refuses non-HTTP schemes (``file:``, ``ftp:``, ``chrome:``) and private targets
before Chromium opens anything, and keeps the reason for the tool's error.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from orchestra.tools.errors import BlockedAddressError, FetchError
from orchestra.tools.netguard import NetworkPolicy, Resolver, resolve_checked

if TYPE_CHECKING:
    from playwright.async_api import Route, WebSocketRoute

_LOCAL_SCHEMES = frozenset({"data", "blob", "about"})
"""Never leave the browser: nothing to check."""


class RequestGuard:
    """Checks request URLs against ``policy``; remembers the last refusals for error messages."""

    def __init__(self, policy: NetworkPolicy, resolver: Resolver | None = None) -> None:
        self.policy = policy
        self._resolver = resolver
        self.refusals: deque[tuple[str, str]] = deque(maxlen=20)
        """(URL, reason) of the latest refused requests, newest last."""
        self.checked = 0
        """How many requests the guard let through (for tests and diagnostics)."""

    async def refusal(self, url: str) -> str | None:
        """Why ``url`` may not be requested, or None when it may."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in _LOCAL_SCHEMES:
            return None
        if scheme in ("ws", "wss"):
            scheme = "https" if scheme == "wss" else "http"
        if scheme not in ("http", "https") or not parts.hostname:
            return f"{url[:200]}: only http:// and https:// URLs may be loaded"
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            return f"{url[:200]}: the port is not a number"
        try:
            await resolve_checked(parts.hostname, port, self.policy, self._resolver)
        except (BlockedAddressError, FetchError) as exc:
            return exc.message
        return None

    async def on_route(self, route: Route) -> None:
        """``context.route`` handler: refuse, or let Chromium send it (through the proxy)."""
        url = route.request.url
        reason = await self.refusal(url)
        if reason is not None:
            self.refusals.append((url, reason))
            await route.abort("blockedbyclient")
            return
        self.checked += 1
        await route.continue_()

    async def on_websocket(self, ws: WebSocketRoute) -> None:
        """``context.route_web_socket`` handler: the same check for WebSocket connections."""
        reason = await self.refusal(ws.url)
        if reason is not None:
            self.refusals.append((ws.url, reason))
            await ws.close(code=1008, reason="refused by Orchestra's network guard")
            return
        self.checked += 1
        ws.connect_to_server()
