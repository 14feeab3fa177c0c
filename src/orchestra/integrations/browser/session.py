"""One Chromium per run: the browser context the tools share, opened on first use.

:func:`open_browser` is an async context manager starting Playwright's driver,
launching Debian's Chromium (``executable_path``, never a downloaded build) with
:data:`~orchestra.integrations.browser.settings.LAUNCH_FLAGS`, and opening **one
browser context** whose every request and WebSocket goes through the network
guard (:mod:`orchestra.integrations.browser.guard`) and whose every connection
goes through the guarding proxy (:mod:`orchestra.integrations.browser.proxy`). The tools reach it through
``ToolContext.resources`` under :data:`RESOURCE_KEY`, so every step of a run
sees the same cookies and pages, and the run's end
(:meth:`orchestra.agents.resources.RunResources.close_run`) closes the browser.
Outside a run (``orchestra tools call``) each call gets its own browser.

Each agent gets its own page (tab) in the context, so two agents of a run
working in parallel never navigate each other's page; calls on one page are
serialised by its lock.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from orchestra.integrations._deps import missing_extra
from orchestra.integrations.browser.guard import RequestGuard
from orchestra.integrations.browser.proxy import GuardProxy
from orchestra.integrations.browser.settings import LAUNCH_FLAGS, BrowserSettings
from orchestra.tools.errors import ToolRuntimeError
from orchestra.tools.netguard import NetworkPolicy, Resolver

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

RESOURCE_KEY = "browser:chromium"


@dataclass
class BrowserSession:
    """The run's browser, its one context, the guard and one page per agent."""

    browser: Browser
    context: BrowserContext
    guard: RequestGuard
    proxy: GuardProxy
    settings: BrowserSettings

    def refusal(self, url: str = "") -> str | None:
        """Why the route guard or the proxy refused ``url`` (or a request to its host, or
        failing both the latest refusal): the reason a tool reports."""
        from urllib.parse import urlsplit

        latest = [*self.guard.refusals, *self.proxy.refusals]
        host = urlsplit(url).hostname
        for match in (
            lambda target: target == url,
            lambda target: host is not None and urlsplit(target).hostname == host,
        ):
            for target, reason in reversed(latest):
                if match(target):
                    return reason
        return latest[-1][1] if latest else None

    _pages: dict[str, Page] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def lock(self, agent: str) -> asyncio.Lock:
        """Serialises the calls on one agent's page."""
        return self._locks.setdefault(agent, asyncio.Lock())

    async def page(self, agent: str) -> Page:
        """The agent's page, opened (blank) on first use or after it was closed."""
        page = self._pages.get(agent)
        if page is None or page.is_closed():
            page = await self.context.new_page()
            self._pages[agent] = page
        return page

    def has_page(self, agent: str) -> bool:
        page = self._pages.get(agent)
        return page is not None and not page.is_closed()


@contextlib.asynccontextmanager
async def open_browser(
    settings: BrowserSettings, policy: NetworkPolicy, resolver: Resolver | None = None
) -> AsyncIterator[BrowserSession]:
    """Start Chromium with one guarded context; close both on exit."""
    try:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright
    except ImportError as exc:
        raise missing_extra("playwright", exc) from exc
    proxy = GuardProxy(
        policy,
        resolver,
        timeout_s=settings.navigation_timeout_s,
        max_bytes=settings.max_response_bytes,
    )
    async with proxy, async_playwright() as pw:
        try:
            browser = await pw.chromium.launch(
                executable_path=settings.executable_path,
                headless=True,
                args=list(LAUNCH_FLAGS),
                timeout=settings.navigation_timeout_s * 1000,
                proxy={"server": proxy.url},  # Playwright adds <-loopback>: nothing bypasses it
            )
        except PlaywrightError as exc:
            raise ToolRuntimeError(
                f"cannot start Chromium at {settings.executable_path}: "
                f"{exc.message.splitlines()[0]}; install it (apt-get install chromium) or set "
                "executable_path in [plugins.browser]"
            ) from exc
        try:
            context = await browser.new_context(
                viewport={"width": settings.viewport_width, "height": settings.viewport_height},
                accept_downloads=False,
                service_workers="block",  # a service worker's requests would bypass the routes
            )
            context.set_default_timeout(settings.action_timeout_s * 1000)
            context.set_default_navigation_timeout(settings.navigation_timeout_s * 1000)
            guard = RequestGuard(policy, resolver)
            await context.route("**/*", guard.on_route)
            await context.route_web_socket("**/*", guard.on_websocket)
            yield BrowserSession(
                browser=browser, context=context, guard=guard, proxy=proxy, settings=settings
            )
        finally:
            await browser.close()
