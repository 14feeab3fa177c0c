"""``web.search``: DuckDuckGo through the ``ddgs`` package, rate-limited and cached.

The HTTP exchange goes through a :data:`SearchTransport`; the default is
ddgs's own client (``primp``, which DuckDuckGo accepts). Payload building and
result parsing are ddgs's, so a test can replace only the transport with canned
DuckDuckGo HTML. One :class:`WebSearch` per registry holds the cache and the
rate limiter — never a module-level singleton.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from ddgs.engines.duckduckgo import Duckduckgo
from ddgs.exceptions import DDGSException
from pydantic import BaseModel, Field

from orchestra.tools.errors import SearchError
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, tool

SearchTransport = Callable[[str, str, Mapping[str, str]], tuple[int, str]]
"""(method, url, form or query fields) -> (HTTP status, body text). Called in a worker thread."""


class SearchArgs(BaseModel):
    query: str = Field(min_length=1, max_length=500, description="What to search for.")
    max_results: int = Field(default=8, ge=1, le=25)
    region: str = Field(default="us-en", description="DuckDuckGo region code, e.g. 'de-de'.")


class _Engine(Duckduckgo):
    """ddgs's DuckDuckGo engine with a replaceable HTTP exchange."""

    def __init__(self, transport: SearchTransport | None, timeout_s: float) -> None:
        super().__init__(timeout=int(timeout_s))
        self._transport = transport

    def request(self, *args: Any, **kwargs: Any) -> Any:
        if self._transport is None:
            return super().request(*args, **kwargs)
        method, url = args[0], args[1]
        fields = kwargs.get("data") or kwargs.get("params") or {}
        status, text = self._transport(method, url, {str(k): str(v) for k, v in fields.items()})
        return text if status == 200 else None


class WebSearch:
    """Cache + rate limit around the engine. ``clock`` is injectable for tests."""

    def __init__(
        self,
        transport: SearchTransport | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._cache: dict[tuple[str, int, str], tuple[float, str]] = {}
        self._lock = asyncio.Lock()
        self._last = float("-inf")
        self.requests = 0
        """How many searches reached the transport (cache hits do not count)."""

    async def search(self, args: SearchArgs, ctx: ToolContext) -> ToolOutput:
        key = (args.query.strip().lower(), args.max_results, args.region)
        ttl = ctx.settings.search_cache_ttl_s
        hit = self._cache.get(key)
        if hit is not None and self._clock() - hit[0] < ttl:
            return ToolOutput(text=hit[1], data={"cached": True})
        async with self._lock:  # one search at a time, spaced by the minimum interval
            wait = self._last + ctx.settings.search_min_interval_s - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last = self._clock()
            self.requests += 1
            engine = _Engine(self._transport, ctx.settings.http_timeout_s)
            try:
                results = await asyncio.to_thread(engine.search, args.query, region=args.region)
            except DDGSException as exc:
                raise SearchError(f"DuckDuckGo search failed: {exc}; try again later") from exc
        if results is None:
            raise SearchError(
                "DuckDuckGo returned no page (blocked or rate-limited); try again later"
            )
        lines = [
            f"{i}. {r.title}\n   {r.href}\n   {r.body}"
            for i, r in enumerate(results[: args.max_results], 1)
        ]
        text = "\n".join(lines) if lines else f"no results for {args.query!r}"
        self._cache[key] = (self._clock(), text)
        return ToolOutput(text=text, data={"cached": False, "count": len(lines)})


def make_web_search_tool(service: WebSearch) -> Tool:
    @tool("web.search", permission=Permission.NETWORK)
    async def web_search(args: SearchArgs, ctx: ToolContext) -> ToolOutput:
        """Search the web with DuckDuckGo. Returns titles, URLs and snippets; fetch a page
        with http.fetch to read it."""
        return await service.search(args, ctx)

    return web_search
