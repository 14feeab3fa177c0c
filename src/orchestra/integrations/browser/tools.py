"""``browser.open``, ``browser.search``, ``browser.collect``, ``browser.click``, ``browser.screenshot``.

Lincoln's tools. Each call works on the calling agent's page in the run's
browser (:mod:`orchestra.integrations.browser.session`), is bounded by
``[plugins.browser] call_timeout_s`` (and Playwright's navigation and action
timeouts), and answers with what the model needs next: the page's title, URL,
visible text (cut at ``max_text_chars``) and its links. ``browser.collect``
returns records, either by CSS selectors (one selector per item, one per field,
``selector@attribute`` for an attribute) following a "next" link for up to
``max_pages`` pages, or — without selectors — the page's text with the fields
to read, for the model to extract itself. Screenshots are written into the
workspace through its confinement rules (no ``..``, no symlinks, no ``.git/``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from orchestra.integrations._deps import missing_extra
from orchestra.integrations.browser.proxy import REFUSED_HEADER
from orchestra.integrations.browser.session import RESOURCE_KEY, BrowserSession, open_browser
from orchestra.integrations.browser.settings import BrowserSettings
from orchestra.tools.errors import (
    BlockedAddressError,
    FetchError,
    ToolArgumentsError,
    ToolError,
    ToolRuntimeError,
    ToolTimeoutError,
    WorkspacePathError,
)
from orchestra.tools.netguard import Resolver, policy_from
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, tool

if TYPE_CHECKING:
    from playwright.async_api import Page

T = TypeVar("T")
_FIELD_NAME = r"^[A-Za-z_][A-Za-z0-9_ -]{0,63}$"

_PAGE_JS = """(maxLinks) => {
  const links = [];
  for (const a of document.querySelectorAll('a[href]')) {
    if (links.length >= maxLinks) break;
    const text = (a.innerText || a.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ');
    if (a.href.startsWith('http')) links.push({text: text.slice(0, 120), href: a.href});
  }
  return {text: document.body ? document.body.innerText : '', links};
}"""

_COLLECT_JS = """(items, fields) => items.map((item) => {
  const record = {};
  for (const [name, spec] of Object.entries(fields)) {
    const at = spec.lastIndexOf('@');
    const sel = (at >= 0 ? spec.slice(0, at) : spec).trim();
    const attr = at >= 0 ? spec.slice(at + 1).trim() : '';
    const el = sel ? item.querySelector(sel) : item;
    if (!el) { record[name] = null; continue; }
    if (!attr) { record[name] = (el.innerText || el.textContent || '').trim().replace(/\\s+/g, ' '); continue; }
    if ((attr === 'href' || attr === 'src') && el[attr]) { record[name] = String(el[attr]); continue; }
    record[name] = el.getAttribute(attr);
  }
  return record;
})"""


class OpenArgs(BaseModel):
    url: str = Field(description="http:// or https:// address of the page to open.")

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL naming a host")
        return value


class SearchArgs(BaseModel):
    query: str = Field(
        min_length=1, max_length=500, description="Text to type into the search box."
    )
    url: str | None = Field(
        default=None, description="Open this page first (else search on the current page)."
    )
    input_selector: str | None = Field(
        default=None,
        description="CSS selector of the search box; default: the first search or text input.",
    )
    submit_selector: str | None = Field(
        default=None, description="CSS selector of the button to press; default: press Enter."
    )

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str | None) -> str | None:
        return None if value is None else OpenArgs._http_only(value)


class CollectArgs(BaseModel):
    fields: dict[str, str] | list[str] = Field(
        description=(
            "Fields to collect. With item_selector: an object mapping each field name to a CSS "
            "selector inside the item ('selector@attribute' for an attribute, e.g. 'a@href'; '' "
            "for the item itself). Without item_selector: the list of field names you will "
            "read from the page text yourself."
        )
    )
    item_selector: str | None = Field(
        default=None,
        description="CSS selector matching one element per record, e.g. '.result'. Omit to "
        "get the page text and read the fields yourself.",
    )
    next_selector: str | None = Field(
        default=None,
        description="CSS selector of the 'next page' link; followed until it is gone or "
        "max_pages is reached.",
    )
    max_pages: int = Field(default=1, ge=1, le=100, description="Pages to collect from.")
    limit: int = Field(default=50, ge=1, le=5000, description="Records to return at most.")

    @field_validator("fields")
    @classmethod
    def _names(cls, value: dict[str, str] | list[str]) -> dict[str, str] | list[str]:
        import re

        names = list(value)
        if not names:
            raise ValueError("name at least one field")
        if len(names) > 50:
            raise ValueError("at most 50 fields")
        for name in names:
            if not re.match(_FIELD_NAME, name):
                raise ValueError(f"field name {name!r} must be a short word (letters, digits, _)")
        return value


class ClickArgs(BaseModel):
    selector: str | None = Field(default=None, description="CSS selector of what to click.")
    text: str | None = Field(
        default=None, description="Or: the visible text of the link or button to click."
    )


class ScreenshotArgs(BaseModel):
    path: str = Field(
        default="output/screenshot.png",
        description="Where to save the PNG, relative to the workspace.",
    )
    full_page: bool = Field(default=False, description="The whole page, not only the viewport.")
    selector: str | None = Field(default=None, description="Only this element (CSS selector).")

    @field_validator("path")
    @classmethod
    def _png(cls, value: str) -> str:
        if not value.lower().endswith(".png"):
            raise ValueError("must name a .png file, e.g. 'output/results.png'")
        return value


def _settings(ctx: ToolContext) -> BrowserSettings:
    return ctx.plugin_settings("browser", BrowserSettings)


@contextlib.asynccontextmanager
async def _session(ctx: ToolContext, resolver: Resolver | None) -> AsyncIterator[BrowserSession]:
    """The run's browser (kept in the run's resources), or one for this call outside a run."""
    settings = _settings(ctx)
    policy = policy_from(ctx.settings.allow_private_network, ctx.settings.http_allowed_networks)
    opener = functools.partial(open_browser, settings, policy, resolver)
    if ctx.resources is not None:
        yield await ctx.resources.enter(RESOURCE_KEY, opener)
    else:
        async with opener() as session:
            yield session


async def _on_page(
    ctx: ToolContext,
    what: str,
    action: Callable[[BrowserSession, Page], Awaitable[T]],
    resolver: Resolver | None = None,
    url: str = "",
) -> T:
    """Run ``action`` on the agent's page within the call's time limit, errors translated."""
    try:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout
    except ImportError as exc:
        raise missing_extra("playwright", exc) from exc

    limit = _settings(ctx).call_timeout_s
    try:
        async with (
            asyncio.timeout(limit),
            _session(ctx, resolver) as session,
            session.lock(ctx.agent),
        ):
            page = await session.page(ctx.agent)
            try:
                return await action(session, page)
            except PlaywrightTimeout as exc:
                raise ToolTimeoutError(
                    f"{what}: {exc.message.splitlines()[0]}", retryable=True
                ) from exc
            except PlaywrightError as exc:
                raise _translate(what, exc.message, session, url) from exc
    except TimeoutError as exc:
        raise ToolTimeoutError(
            f"{what} took longer than {limit:g} s ([plugins.browser] call_timeout_s)"
        ) from exc


def _translate(what: str, message: str, session: BrowserSession, url: str) -> ToolError:
    first = message.splitlines()[0] if message else "unknown error"
    if "ERR_BLOCKED_BY_CLIENT" in message or "ERR_TUNNEL_CONNECTION_FAILED" in message:
        reason = session.refusal(url) or "the network guard refused it"
        return BlockedAddressError(f"{what}: refused: {reason}")
    if "net::" in message:
        return FetchError(f"{what}: {first}; check the URL", retryable=True)
    if "SyntaxError" in message or "is not a valid selector" in message:
        return ToolArgumentsError(f"{what}: invalid CSS selector ({first})")
    return ToolRuntimeError(f"{what}: {first}")


async def _describe(
    page: Page, session: BrowserSession, *, status: int | None = None
) -> ToolOutput:
    """Title, URL, text and links of the page: what the model reads after each step."""
    s = session.settings
    info: dict[str, Any] = await page.evaluate(_PAGE_JS, s.max_links)
    text: str = info["text"].strip()
    cut = len(text) > s.max_text_chars
    if cut:
        text = text[: s.max_text_chars] + f"\n[page text cut at {s.max_text_chars} characters]"
    title = await page.title()
    links = info["links"]
    head = f"{title}\n{page.url}" + (f"\nHTTP {status}" if status is not None else "")
    listed = "\n".join(f"- [{link['text'] or '(no text)'}]({link['href']})" for link in links)
    body = f"{head}\n\n{text}" + (f"\n\nLinks:\n{listed}" if listed else "")
    return ToolOutput(
        text=body,
        data={"url": page.url, "title": title, "status": status, "links": len(links)},
        is_error=status is not None and status >= 400,
    )


async def open_page(
    args: OpenArgs, ctx: ToolContext, resolver: Resolver | None = None
) -> ToolOutput:
    async def act(session: BrowserSession, page: Page) -> ToolOutput:
        response = await page.goto(args.url, wait_until="load")
        if response is not None:
            refused = await response.header_value(REFUSED_HEADER)
            if refused:  # a redirect hop the proxy refused
                raise BlockedAddressError(f"opening {args.url}: refused: {refused}")
        return await _describe(page, session, status=response.status if response else None)

    return await _on_page(ctx, f"opening {args.url}", act, resolver, args.url)


async def search(
    args: SearchArgs, ctx: ToolContext, resolver: Resolver | None = None
) -> ToolOutput:
    async def act(session: BrowserSession, page: Page) -> ToolOutput:
        if args.url is not None:
            await page.goto(args.url, wait_until="load")
        elif page.url in ("", "about:blank"):
            raise ToolArgumentsError("no page is open: pass url, or call browser.open first")
        box = page.locator(
            args.input_selector
            or "input[type=search], input[name=q], input[name=query], input[type=text], input:not([type])"
        ).first
        if await box.count() == 0:
            raise ToolArgumentsError(
                f"no search box on {page.url}"
                + (f" matches {args.input_selector!r}" if args.input_selector else "")
                + "; pass input_selector (a CSS selector of the search field)"
            )
        await box.fill(args.query)
        if args.submit_selector:
            await page.locator(args.submit_selector).first.click()
        else:
            await box.press("Enter")
        await page.wait_for_load_state("load")
        return await _describe(page, session)

    return await _on_page(ctx, f"searching for {args.query!r}", act, resolver, args.url or "")


async def collect(
    args: CollectArgs, ctx: ToolContext, resolver: Resolver | None = None
) -> ToolOutput:
    async def act(session: BrowserSession, page: Page) -> ToolOutput:
        s = session.settings
        if page.url in ("", "about:blank"):
            raise ToolArgumentsError("no page is open: call browser.open or browser.search first")
        if args.item_selector is None:
            return await _read_for_model(page, session, list(args.fields))
        if not isinstance(args.fields, dict):
            raise ToolArgumentsError(
                "with item_selector, fields must map each field name to a CSS selector, "
                'e.g. {"name": ".name", "profile": "a@href"}'
            )
        limit = min(args.limit, s.max_items)
        pages = min(args.max_pages, s.max_pages)
        records: list[dict[str, Any]] = []
        visited = [page.url]
        for number in range(1, pages + 1):
            found = await page.eval_on_selector_all(args.item_selector, _COLLECT_JS, args.fields)
            records += found[: limit - len(records)]
            if len(records) >= limit or number == pages or not args.next_selector:
                break
            nxt = page.locator(args.next_selector).first
            if await nxt.count() == 0:
                break
            await nxt.click()
            await page.wait_for_load_state("load")
            if page.url in visited:  # a "next" link that goes nowhere new: stop, don't loop
                break
            visited.append(page.url)
        lines = json.dumps(records, ensure_ascii=False, indent=1)
        return ToolOutput(
            text=f"{len(records)} records from {len(visited)} page(s), last {page.url}\n{lines}",
            data={"records": records, "pages": visited, "count": len(records)},
        )

    return await _on_page(ctx, "collecting from the page", act, resolver)


async def _read_for_model(page: Page, session: BrowserSession, fields: list[str]) -> ToolOutput:
    described = await _describe(page, session)
    names = ", ".join(fields)
    return ToolOutput(
        text=(
            f"Read the page below and extract these fields for each record: {names}. "
            "Answer them as JSON records; use null when a field is not on the page.\n\n"
            + described.text
        ),
        data={"mode": "text", "fields": fields, "url": page.url},
    )


async def click(args: ClickArgs, ctx: ToolContext, resolver: Resolver | None = None) -> ToolOutput:
    if (args.selector is None) == (args.text is None):
        raise ToolArgumentsError("give exactly one of selector (CSS) or text (the visible label)")

    async def act(session: BrowserSession, page: Page) -> ToolOutput:
        target = (
            page.locator(args.selector).first
            if args.selector is not None
            else page.get_by_text(args.text or "", exact=False).first
        )
        if await target.count() == 0:
            shown = args.selector if args.selector is not None else f"text {args.text!r}"
            raise ToolArgumentsError(f"nothing matches {shown} on {page.url}")
        await target.click()
        await page.wait_for_load_state("load")
        return await _describe(page, session)

    return await _on_page(ctx, "clicking", act, resolver)


async def screenshot(
    args: ScreenshotArgs, ctx: ToolContext, resolver: Resolver | None = None
) -> ToolOutput:
    parts = ctx.workspace.split_writable(args.path)
    if not parts:
        raise WorkspacePathError("give a file path for the screenshot, e.g. 'output/page.png'")

    async def act(session: BrowserSession, page: Page) -> bytes:
        if args.selector is not None:
            return await page.locator(args.selector).first.screenshot(type="png")
        return await page.screenshot(type="png", full_page=args.full_page)

    png = await _on_page(ctx, "taking a screenshot", act, resolver)
    limit = min(_settings(ctx).screenshot_max_bytes, ctx.settings.file_size_mb * 1_000_000)
    if len(png) > limit:
        raise ToolRuntimeError(
            f"the screenshot is {len(png)} bytes, over the {limit}-byte limit; "
            "take the viewport (full_page=false) or one element (selector)"
        )
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    with ctx.workspace.open_file(parts, flags, create_parents=True) as fd:
        os.write(fd, png)
    path = "/".join(parts)
    return ToolOutput(
        text=f"saved {path} ({len(png)} bytes)", data={"path": path, "bytes": len(png)}
    )


def make_tools(resolver: Resolver | None = None) -> tuple[Tool, ...]:
    """The five tools; ``resolver`` replaces DNS for the guard (tests)."""

    @tool("browser.open", permission=Permission.NETWORK, args_model=OpenArgs)
    async def browser_open(args: OpenArgs, ctx: ToolContext) -> ToolOutput:
        """Open a web page in the run's browser (Chromium, headless). Returns its title, URL,
        visible text and links. Private and loopback addresses are refused."""
        return await open_page(args, ctx, resolver)

    @tool("browser.search", permission=Permission.NETWORK, args_model=SearchArgs)
    async def browser_search(args: SearchArgs, ctx: ToolContext) -> ToolOutput:
        """Type a query into a page's search box and submit it; returns the results page."""
        return await search(args, ctx, resolver)

    @tool("browser.collect", permission=Permission.NETWORK, args_model=CollectArgs)
    async def browser_collect(args: CollectArgs, ctx: ToolContext) -> ToolOutput:
        """Collect records from the current page: by CSS selectors (item_selector + a selector
        per field, following next_selector across pages), or without selectors the page
        text for you to read the fields from."""
        return await collect(args, ctx, resolver)

    @tool("browser.click", permission=Permission.NETWORK, args_model=ClickArgs)
    async def browser_click(args: ClickArgs, ctx: ToolContext) -> ToolOutput:
        """Click a link or button (by CSS selector or visible text) and return the page after."""
        return await click(args, ctx, resolver)

    @tool("browser.screenshot", permission=Permission.WRITE, args_model=ScreenshotArgs)
    async def browser_screenshot(args: ScreenshotArgs, ctx: ToolContext) -> ToolOutput:
        """Save a PNG of the current page (or one element) into the workspace."""
        return await screenshot(args, ctx, resolver)

    return (browser_open, browser_search, browser_collect, browser_click, browser_screenshot)
