"""DuckDuckGo cannot be reached here: only the HTTP exchange is faked, ddgs parses for real."""

from __future__ import annotations

from collections.abc import Mapping

from orchestra.tools.builtin import register_builtins
from orchestra.tools.protocol import ToolContext, ToolSettings
from orchestra.tools.registry import ToolRegistry

DDG_HTML = """<html><body><div class="results">
<div class="result results_links web-result"><div class="links_main links_deep result__body">
<h2 class="result__title"><a class="result__a" href="https://docs.python.org/3/">Python docs</a></h2>
<a class="result__snippet" href="https://docs.python.org/3/">The official Python documentation.</a>
</div></div>
<div class="result results_links web-result"><div class="links_main links_deep result__body">
<h2 class="result__title"><a class="result__a" href="https://duckduckgo.com/y.js?ad=1">An ad</a></h2>
<a class="result__snippet" href="https://duckduckgo.com/y.js?ad=1">Sponsored</a>
</div></div>
</div></body></html>"""


class FakeDuckDuckGo:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def __call__(self, method: str, url: str, fields: Mapping[str, str]) -> tuple[int, str]:
        self.requests.append((method, url, dict(fields)))
        return self.status, DDG_HTML


def build(transport: FakeDuckDuckGo) -> ToolRegistry:
    reg = ToolRegistry()
    register_builtins(reg, search_transport=transport)
    return reg


async def test_search_returns_parsed_results_without_ads(ctx: ToolContext) -> None:
    fake = FakeDuckDuckGo()
    result = await build(fake).call("web.search", {"query": "python docs"}, ctx)
    assert result.ok, result.content
    assert result.content == (
        "1. Python docs\n   https://docs.python.org/3/\n   The official Python documentation."
    )
    method, url, fields = fake.requests[0]
    assert (method, url, fields["q"]) == (
        "POST",
        "https://html.duckduckgo.com/html/",
        "python docs",
    )


async def test_repeated_queries_are_served_from_the_cache(ctx: ToolContext) -> None:
    fake = FakeDuckDuckGo()
    reg = build(fake)
    fast = ToolContext(workspace=ctx.workspace, settings=ToolSettings(search_min_interval_s=0))
    first = await reg.call("web.search", {"query": "Python docs"}, fast)
    second = await reg.call("web.search", {"query": "python docs "}, fast)
    assert first.content == second.content
    assert second.data == {"cached": True}
    assert len(fake.requests) == 1
    await reg.call("web.search", {"query": "other"}, fast)
    assert len(fake.requests) == 2


async def test_a_blocked_search_is_an_error_result(ctx: ToolContext) -> None:
    result = await build(FakeDuckDuckGo(status=403)).call("web.search", {"query": "x"}, ctx)
    assert result.status == "error" and result.retryable
    assert "try again later" in result.content
