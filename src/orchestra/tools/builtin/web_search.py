"""``web.search``: DuckDuckGo through the ``ddgs`` package, rate-limited and cached.

The HTTP exchange goes through a :data:`SearchTransport`; the default is
ddgs's own client (``primp``, which DuckDuckGo accepts). Payload building and
result parsing are ddgs's, so a test can replace only the transport with canned
DuckDuckGo HTML. One :class:`WebSearch` per registry holds the cache and the
rate limiter — never a module-level singleton.

Two limits apply: searches are spaced by ``tools.search_min_interval_s`` (waited
for), and ``tools.search_rate_limit`` (a ``limits`` expression such as
``"30/minute;300/hour"``, moving window) caps how many reach DuckDuckGo; past
it a search is refused with the time to wait, rather than blocking the step.
Every search, cached or not, is appended to the workspace's search history,
``research/search-history.jsonl`` (time, query, region, result count, cached,
agent, run).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ddgs.engines.duckduckgo import Duckduckgo
from ddgs.exceptions import DDGSException
from pydantic import BaseModel, Field

from orchestra.tools.errors import SearchError, ToolArgumentsError, ToolError
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, tool

log = logging.getLogger(__name__)
HISTORY_PATH = "research/search-history.jsonl"
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
        self._cache: dict[tuple[str, int, str], tuple[float, str, int]] = {}
        self._lock = asyncio.Lock()
        self._last = float("-inf")
        self._limiter: Any = None
        self._limits: tuple[str, list[Any]] | None = None
        self.requests = 0
        """How many searches reached the transport (cache hits do not count)."""

    async def search(self, args: SearchArgs, ctx: ToolContext) -> ToolOutput:
        key = (args.query.strip().lower(), args.max_results, args.region)
        ttl = ctx.settings.search_cache_ttl_s
        hit = self._cache.get(key)
        if hit is not None and self._clock() - hit[0] < ttl:
            _record(ctx, args, count=hit[2], cached=True)
            return ToolOutput(text=hit[1], data={"cached": True})
        self._check_rate(ctx.settings.search_rate_limit)
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
        self._cache[key] = (self._clock(), text, len(lines))
        _record(ctx, args, count=len(lines), cached=False)
        return ToolOutput(text=text, data={"cached": False, "count": len(lines)})

    def _check_rate(self, expression: str) -> None:
        """Count this search against ``expression``; refuse it (retryable) when over."""
        if not expression:
            return
        from limits import parse_many, storage, strategies

        if self._limits is None or self._limits[0] != expression:
            try:
                items = parse_many(expression)
            except ValueError as exc:
                raise ToolArgumentsError(
                    f"tools.search_rate_limit {expression!r} is not a rate limit ({exc}); "
                    "write e.g. '30/minute;300/hour'"
                ) from exc
            self._limits = (expression, items)
            self._limiter = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
        for item in self._limits[1]:
            if not self._limiter.test(item, "web.search"):
                reset = self._limiter.get_window_stats(item, "web.search").reset_time
                wait = max(1, round(reset - time.time()))
                raise SearchError(
                    f"search rate limit reached ({item}, tools.search_rate_limit); "
                    f"try again in {wait} s or use the results you have"
                )
        for item in self._limits[1]:
            self._limiter.hit(item, "web.search")


def _record(ctx: ToolContext, args: SearchArgs, *, count: int, cached: bool) -> None:
    """Append one line to the workspace's search history (best effort: never fails a search)."""
    entry = {
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "query": args.query,
        "region": args.region,
        "results": count,
        "cached": cached,
        "agent": ctx.agent,
        "run_id": ctx.run_id,
    }
    line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    try:
        with ctx.workspace.open_file(HISTORY_PATH, flags, create_parents=True) as fd:
            os.write(fd, line)
    except (OSError, ToolError):  # a full or read-only workspace must not fail the search
        log.warning("could not record the search in %s", HISTORY_PATH, exc_info=True)


def make_web_search_tool(service: WebSearch) -> Tool:
    @tool("web.search", permission=Permission.NETWORK)
    async def web_search(args: SearchArgs, ctx: ToolContext) -> ToolOutput:
        """Search the web with DuckDuckGo. Returns titles, URLs and snippets; read a page
        with web.read (main text and a citation) or http.fetch."""
        return await service.search(args, ctx)

    return web_search
