"""Lincoln's browser tools driving Debian's Chromium against a prospect directory served here.

The site runs on 127.0.0.1 (allowed by ``tools.http_allowed_networks`` in these tests);
a second server on 127.0.0.2 plays a private host that must never be reached.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest

from orchestra.agents.resources import RunResources
from orchestra.integrations.browser import register
from orchestra.integrations.browser.session import RESOURCE_KEY
from orchestra.tools.protocol import ToolContext, ToolSettings
from orchestra.tools.registry import ToolRegistry
from tests.integrations.prospect_site import PAGE_SIZE, Site, matches, serve_site


@pytest.fixture
def site() -> Iterator[Site]:
    with serve_site() as s:
        yield s


@pytest.fixture
def registry() -> ToolRegistry:
    reg = ToolRegistry()
    register(reg)
    return reg


@pytest.fixture
async def run_ctx(ctx: ToolContext) -> AsyncIterator[tuple[ToolContext, RunResources]]:
    """A context inside a run: the site's address allowed, the run's resources attached."""
    resources = RunResources()
    settings = ToolSettings(http_allowed_networks=("127.0.0.1/32",))
    yield replace(ctx, settings=settings, resources=resources.scope("r1")), resources
    await resources.aclose()


async def test_open_search_paginate_and_collect_prospects(
    registry: ToolRegistry, site: Site, run_ctx: tuple[ToolContext, RunResources]
) -> None:
    ctx, _ = run_ctx
    opened = await registry.call("browser.open", {"url": site.base + "/"}, ctx)
    assert opened.ok, opened.content
    assert opened.content.startswith("Prospect Directory\n" + site.base + "/")
    assert "Browse everyone" in opened.content

    found = await registry.call("browser.search", {"query": "CTO"}, ctx)
    assert found.ok, found.content
    expected = matches("CTO", "")
    assert f"{len(expected)} results for CTO" in found.content
    assert "/search?q=CTO" in (found.data or {})["url"]

    fields = {"name": ".name", "title": ".title", "company": ".company", "profile": "a@href"}
    collected = await registry.call(
        "browser.collect",
        {"item_selector": ".person", "fields": fields, "next_selector": "a.next", "max_pages": 10},
        ctx,
    )
    assert collected.ok, collected.content
    records = (collected.data or {})["records"]
    assert [r["name"] for r in records] == [p["name"] for p in expected]
    assert records[0]["company"] == expected[0]["company"]
    assert records[0]["profile"].startswith(site.base + "/people/")
    pages = -(-len(expected) // PAGE_SIZE)
    assert len((collected.data or {})["pages"]) == pages
    assert json.loads(collected.content.split("\n", 1)[1]) == records


async def test_collect_stops_at_the_limit_and_page_cap(
    registry: ToolRegistry, site: Site, run_ctx: tuple[ToolContext, RunResources]
) -> None:
    ctx, _ = run_ctx
    await registry.call("browser.open", {"url": site.base + "/search?q=CTO"}, ctx)
    args = {"item_selector": ".person", "fields": {"name": ".name"}, "next_selector": "a.next"}
    two_pages = await registry.call("browser.collect", {**args, "max_pages": 2}, ctx)
    assert (two_pages.data or {})["count"] == 2 * PAGE_SIZE
    await registry.call("browser.open", {"url": site.base + "/search?q=CTO"}, ctx)
    three = await registry.call("browser.collect", {**args, "max_pages": 10, "limit": 3}, ctx)
    assert [r["name"] for r in (three.data or {})["records"]] == [
        p["name"] for p in matches("CTO", "")[:3]
    ]


async def test_collect_without_selectors_gives_the_model_the_page_text(
    registry: ToolRegistry, site: Site, run_ctx: tuple[ToolContext, RunResources]
) -> None:
    ctx, _ = run_ctx
    await registry.call("browser.open", {"url": site.base + "/people/0"}, ctx)
    read = await registry.call("browser.collect", {"fields": ["name", "title", "city"]}, ctx)
    assert read.ok, read.content
    assert read.content.startswith("Read the page below and extract these fields")
    assert "name, title, city" in read.content
    assert "CTO at Kiezware" in read.content and "Based in Berlin." in read.content
    assert (read.data or {})["mode"] == "text"


async def test_click_by_text_and_selector_follows_links(
    registry: ToolRegistry, site: Site, run_ctx: tuple[ToolContext, RunResources]
) -> None:
    ctx, _ = run_ctx
    await registry.call("browser.open", {"url": site.base + "/search?q=CTO&city=berlin"}, ctx)
    first = matches("CTO", "berlin")[0]
    by_text = await registry.call("browser.click", {"text": first["name"]}, ctx)
    assert by_text.ok, by_text.content
    assert by_text.content.startswith(first["name"] + "\n")
    await registry.call("browser.open", {"url": site.base + "/search?q=CTO"}, ctx)
    by_css = await registry.call("browser.click", {"selector": "a.next"}, ctx)
    assert "page=2" in (by_css.data or {})["url"]
    missing = await registry.call("browser.click", {"selector": "#nope"}, ctx)
    assert missing.status == "error"
    assert "nothing matches #nope" in missing.content


async def test_screenshot_is_a_png_in_the_workspace_and_paths_are_confined(
    registry: ToolRegistry, site: Site, run_ctx: tuple[ToolContext, RunResources]
) -> None:
    ctx, _ = run_ctx
    await registry.call("browser.open", {"url": site.base + "/"}, ctx)
    shot = await registry.call("browser.screenshot", {"path": "output/home.png"}, ctx)
    assert shot.ok, shot.content
    png = (ctx.workspace.root / "output" / "home.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) == (shot.data or {})["bytes"]
    for bad in ("../escape.png", "/tmp/x.png", ".git/hooks/x.png"):
        refused = await registry.call("browser.screenshot", {"path": bad}, ctx)
        assert refused.status == "error", bad
        assert refused.error_type == "WorkspacePathError", bad
    not_png = await registry.call("browser.screenshot", {"path": "output/x.jpg"}, ctx)
    assert not_png.error_type == "ToolArgumentsError"
    assert "must name a .png file" in not_png.content


async def test_loopback_is_refused_by_default_and_the_site_never_hit(
    registry: ToolRegistry, site: Site, ctx: ToolContext
) -> None:
    resources = RunResources()
    default = replace(ctx, resources=resources.scope("r1"))
    try:
        result = await registry.call("browser.open", {"url": site.base + "/"}, default)
    finally:
        await resources.aclose()
    assert result.status == "error"
    assert result.error_type == "BlockedAddressError"
    assert "loopback address" in result.content
    assert "tools.allow_private_network" in result.content
    assert site.hits.paths == []


async def test_redirect_and_subresources_to_a_private_address_are_refused(
    registry: ToolRegistry, site: Site, run_ctx: tuple[ToolContext, RunResources]
) -> None:
    ctx, _ = run_ctx
    redirected = await registry.call("browser.open", {"url": site.base + "/to-private"}, ctx)
    assert redirected.status == "error", redirected.content
    assert redirected.error_type == "BlockedAddressError"
    assert "127.0.0.2" in redirected.content
    embedded = await registry.call("browser.open", {"url": site.base + "/embeds-private"}, ctx)
    assert embedded.ok, embedded.content
    assert "An image from a private host." in embedded.content
    assert site.private_hits.paths == []  # neither the redirect nor the image reached it


async def test_only_http_urls_are_accepted(
    registry: ToolRegistry, run_ctx: tuple[ToolContext, RunResources]
) -> None:
    ctx, _ = run_ctx
    for url in ("file:///etc/passwd", "chrome://settings", "javascript:alert(1)", "example.org"):
        result = await registry.call("browser.open", {"url": url}, ctx)
        assert result.error_type == "ToolArgumentsError", url
        assert "http:// or https:// URL" in result.content


async def test_one_browser_per_run_closed_when_the_run_ends(
    registry: ToolRegistry, site: Site, run_ctx: tuple[ToolContext, RunResources]
) -> None:
    ctx, resources = run_ctx
    await registry.call("browser.open", {"url": site.base + "/"}, ctx)
    assert resources.keys("r1") == [RESOURCE_KEY]
    session = await resources.enter("r1", RESOURCE_KEY, _never)
    other_agent = replace(ctx, agent="second")
    await registry.call("browser.open", {"url": site.base + "/people/1"}, other_agent)
    assert await resources.enter("r1", RESOURCE_KEY, _never) is session  # same browser
    first_page = await session.page("tester")
    assert first_page.url == site.base + "/"  # the second agent got its own page
    assert session.browser.is_connected()
    await resources.close_run("r1")
    assert not session.browser.is_connected()
    assert resources.keys("r1") == []


def _never() -> object:
    raise AssertionError("the run's browser should already be open")
