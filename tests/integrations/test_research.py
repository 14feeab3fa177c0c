"""web.read and research.brief against pages served here; web.search's limits and history
with DuckDuckGo replaced at its transport (ddgs still parses for real)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from orchestra.integrations.research import register
from orchestra.tools.builtin import register_builtins
from orchestra.tools.protocol import ToolContext, ToolSettings
from orchestra.tools.registry import ToolRegistry
from tests.tools.builtin.test_web_search import FakeDuckDuckGo

FILLER = "Berlin's startup scene grew strongly in 2025, led by engineering-heavy companies. " * 6
ARTICLE = f"""<!doctype html><html><head><title>Berlin tech report</title>
<meta name="author" content="Ada Example"><meta name="date" content="2026-03-01"></head>
<body><nav><a href="/">Home</a> | <a href="/login">Login to the member area</a></nav>
<article><h1>Berlin tech report</h1><p>{FILLER}</p>
<p>Most new CTOs in the city came from larger firms.</p></article>
<footer>Cookie banner and copyright notice</footer></body></html>"""
ROBOTS = "User-agent: *\nDisallow: /private/\n"


class Handler(BaseHTTPRequestHandler):
    robots_status = 200
    hits: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        if self.path == "/robots.txt":
            self._send(self.robots_status, ROBOTS.encode(), "text/plain")
        elif self.path in ("/report", "/private/notes"):
            self._send(200, ARTICLE.encode(), "text/html; charset=utf-8")
        elif self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/report")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/image.png":
            self._send(200, b"\x89PNG....", "image/png")
        else:
            self._send(404, b"missing", "text/plain")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site() -> Iterator[str]:
    Handler.hits = []
    Handler.robots_status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()
    register(reg)
    return reg


@pytest.fixture
def allowed(ctx: ToolContext) -> ToolContext:
    return replace(ctx, settings=ToolSettings(http_allowed_networks=("127.0.0.1/32",)))


async def test_read_extracts_main_text_and_records_a_citation(
    registry: ToolRegistry, allowed: ToolContext, site: str
) -> None:
    result = await registry.call("web.read", {"url": site + "/report"}, allowed)
    assert result.ok, result.content
    assert result.content.startswith(f"[1] Berlin tech report\n{site}/report\naccessed ")
    assert "Most new CTOs in the city came from larger firms." in result.content
    assert "Login to the member area" not in result.content  # navigation dropped
    assert "Cookie banner" not in result.content
    lines = (allowed.workspace.root / "research" / "citations.jsonl").read_text().splitlines()
    cited = json.loads(lines[0])
    assert cited["url"] == site + "/report" and cited["title"] == "Berlin tech report"
    assert cited["number"] == 1 and cited["accessed"].endswith("+00:00")
    assert cited["author"] == "Ada Example"
    again = await registry.call("web.read", {"url": site + "/moved"}, allowed)  # redirect to it
    assert again.content.startswith("[1] ")  # the same source keeps its number
    assert (
        len((allowed.workspace.root / "research" / "citations.jsonl").read_text().splitlines()) == 1
    )


async def test_robots_txt_is_respected(
    registry: ToolRegistry, allowed: ToolContext, site: str
) -> None:
    refused = await registry.call("web.read", {"url": site + "/private/notes"}, allowed)
    assert refused.status == "error"
    assert refused.error_type == "RobotsDisallowedError"
    assert f"{site}/robots.txt does not allow reading" in refused.content
    assert "/private/notes" not in Handler.hits  # never fetched
    assert not (allowed.workspace.root / "research" / "citations.jsonl").exists()


async def test_a_failing_robots_txt_means_disallow(allowed: ToolContext, site: str) -> None:
    Handler.robots_status = 503
    reg = ToolRegistry()
    register(reg)
    refused = await reg.call("web.read", {"url": site + "/report"}, allowed)
    assert refused.error_type == "RobotsDisallowedError"
    assert "/report" not in Handler.hits


async def test_private_addresses_are_refused_by_default(
    registry: ToolRegistry, ctx: ToolContext, site: str
) -> None:
    result = await registry.call("web.read", {"url": site + "/report"}, ctx)
    assert result.error_type == "BlockedAddressError"
    assert "loopback" in result.content
    assert Handler.hits == []


async def test_bad_arguments_and_non_pages(
    registry: ToolRegistry, allowed: ToolContext, site: str
) -> None:
    bad = await registry.call("web.read", {"url": "file:///etc/passwd"}, allowed)
    assert bad.error_type == "ToolArgumentsError" and "http:// or https://" in bad.content
    image = await registry.call("web.read", {"url": site + "/image.png"}, allowed)
    assert "is image/png, not a web page" in image.content
    missing = await registry.call("web.read", {"url": site + "/gone"}, allowed)
    assert "answered HTTP 404; not cited" in missing.content


async def test_brief_adds_references_for_the_cited_sources(
    registry: ToolRegistry, allowed: ToolContext, site: str
) -> None:
    await registry.call("web.read", {"url": site + "/report"}, allowed)
    body = "Berlin hires CTOs from larger firms [1]."
    result = await registry.call(
        "research.brief", {"title": "CTOs in Berlin", "body": body}, allowed
    )
    assert result.ok, result.content
    text = (allowed.workspace.root / "output" / "brief.md").read_text()
    assert text.startswith("# CTOs in Berlin\n\nBerlin hires CTOs from larger firms [1].")
    references = text.split("## References\n\n", 1)[1]
    assert references.startswith(
        f"- [1] Ada Example. Berlin tech report (2026-03-01). {site}/report (accessed "
    )
    wrong = await registry.call(
        "research.brief", {"title": "T", "body": "A claim [2].", "path": "output/b2.md"}, allowed
    )
    assert wrong.error_type == "ToolArgumentsError"
    assert (
        "cites [2], which no web.read recorded; recorded sources: [1] Berlin tech report"
        in wrong.content
    )
    assert not (allowed.workspace.root / "output" / "b2.md").exists()
    escape = await registry.call(
        "research.brief", {"title": "T", "body": "x", "path": "../x.md"}, allowed
    )
    assert escape.error_type == "WorkspacePathError"


async def test_web_search_is_rate_limited_and_kept_in_the_search_history(
    ctx: ToolContext,
) -> None:
    fake = FakeDuckDuckGo()
    reg = ToolRegistry()
    register_builtins(reg, search_transport=fake)
    limited = replace(
        ctx, settings=ToolSettings(search_min_interval_s=0, search_rate_limit="2/minute")
    )
    for query in ("cto berlin", "cto munich"):
        assert (await reg.call("web.search", {"query": query}, limited)).ok
    cached = await reg.call("web.search", {"query": "CTO Berlin"}, limited)
    assert cached.ok and (cached.data or {})["cached"] is True  # a cache hit is not counted
    over = await reg.call("web.search", {"query": "cto hamburg"}, limited)
    assert over.status == "error" and over.retryable
    assert "search rate limit reached (2 per 1 minute" in over.content
    assert "try again in" in over.content
    assert len(fake.requests) == 2
    history = (ctx.workspace.root / "research" / "search-history.jsonl").read_text().splitlines()
    entries = [json.loads(line) for line in history]
    assert [(e["query"], e["cached"], e["results"]) for e in entries] == [
        ("cto berlin", False, 1),
        ("cto munich", False, 1),
        ("CTO Berlin", True, 1),
    ]
    assert entries[0]["agent"] == "tester"
    bad = replace(ctx, settings=ToolSettings(search_rate_limit="lots"))
    refused = await reg.call("web.search", {"query": "x"}, bad)
    assert "is not a rate limit" in refused.content
