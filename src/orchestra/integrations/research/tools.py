"""``web.read`` and ``research.brief``.

``web.read`` checks the site's ``robots.txt`` (fetched through the same guarded
client, cached per site for the process; a 5xx or unreachable robots.txt counts
as "disallow", 4xx as "allow", as crawlers do), fetches the page with
``http.fetch``'s machinery (every redirect hop checked by the network guard,
``tools.http_max_bytes`` and ``tools.http_timeout_s``), extracts the main text
with trafilatura (navigation, footers and ads dropped), and records a citation
in ``research/citations.jsonl`` (:mod:`.citations`). ``research.brief`` writes
a Markdown brief whose ``[n]`` markers must name recorded citations, followed by
a *References* section listing them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

from pydantic import BaseModel, Field, field_validator

from orchestra.integrations._deps import missing_extra
from orchestra.integrations._files import write_atomic
from orchestra.integrations.research import citations
from orchestra.tools.builtin.http_fetch import USER_AGENT, FetchArgs, fetch, html_to_text
from orchestra.tools.errors import (
    FetchError,
    ToolArgumentsError,
    ToolError,
    ToolTimeoutError,
    ToolUserError,
)
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, tool

ROBOTS_AGENT = "Orchestra"
_ROBOTS_TTL_S = 3600.0
_ROBOTS_MAX_BYTES = 500_000
_DISALLOW_ALL = ["User-agent: *", "Disallow: /"]


class RobotsDisallowedError(ToolUserError):
    """The site's robots.txt does not let Orchestra read this page."""


class ReadArgs(BaseModel):
    url: str = Field(description="http:// or https:// address of the page to read.")
    max_chars: int = Field(
        default=12_000, ge=200, le=200_000, description="Text to return at most."
    )

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL naming a host")
        return value


class BriefArgs(BaseModel):
    path: str = Field(
        default="output/brief.md", description="Markdown file to write, relative to the workspace."
    )
    title: str = Field(min_length=1, max_length=300, description="The brief's title.")
    body: str = Field(
        min_length=1,
        max_length=200_000,
        description="The brief in Markdown, citing sources read with web.read as [1], [2, 3].",
    )
    include_uncited: bool = Field(
        default=False, description="List every recorded source, not only the cited ones."
    )

    @field_validator("path")
    @classmethod
    def _markdown(cls, value: str) -> str:
        if not value.lower().endswith((".md", ".markdown")):
            raise ValueError("must name a Markdown file (.md)")
        return value


class Robots:
    """robots.txt per site, cached for an hour."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, RobotFileParser]] = {}

    async def allowed(self, url: str, ctx: ToolContext) -> tuple[bool, str]:
        parts = urlsplit(url)
        site = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        hit = self._cache.get(site)
        if hit is None or time.monotonic() - hit[0] > _ROBOTS_TTL_S:
            hit = (time.monotonic(), await self._load(site, ctx))
            self._cache[site] = hit
        return hit[1].can_fetch(ROBOTS_AGENT, url), f"{site}/robots.txt"

    @staticmethod
    async def _load(site: str, ctx: ToolContext) -> RobotFileParser:
        parser = RobotFileParser()
        try:
            async with ctx.http_client(follow_redirects=True) as client:
                response = await client.get(
                    f"{site}/robots.txt", headers={"User-Agent": USER_AGENT}
                )
                body = response.content[:_ROBOTS_MAX_BYTES]
        except ToolError:
            raise
        except Exception:  # boundary: unreachable robots.txt -> treat as disallow
            parser.parse(_DISALLOW_ALL)
            return parser
        if response.status_code >= 500:
            parser.parse(_DISALLOW_ALL)
        elif response.status_code >= 400:
            parser.parse([])  # no rules: everything allowed
        else:
            parser.parse(body.decode("utf-8", errors="replace").splitlines())
        return parser


def _extract(html: str, url: str) -> dict[str, Any]:
    try:
        import trafilatura
    except ImportError as exc:
        raise missing_extra("trafilatura", exc) from exc
    doc: Any = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False
    )
    if doc is None or not (doc.text or "").strip():
        title, text = html_to_text(html)  # no main text found: fall back to all readable text
        return {"title": title, "text": text, "author": None, "date": None, "extracted": False}
    return {
        "title": doc.title or "",
        "text": doc.text,
        "author": doc.author,
        "date": doc.date,
        "extracted": True,
    }


async def read(args: ReadArgs, ctx: ToolContext, robots: Robots) -> ToolOutput:
    import httpx

    try:
        async with asyncio.timeout(ctx.settings.http_timeout_s * 2):
            ok, where = await robots.allowed(args.url, ctx)
            if not ok:
                raise RobotsDisallowedError(
                    f"{where} does not allow reading {args.url}; use another source"
                )
            status, final_url, ctype, data = await fetch(FetchArgs(url=args.url), ctx)
    except TimeoutError as exc:
        raise ToolTimeoutError(f"reading {args.url} took too long") from exc
    except httpx.TimeoutException as exc:
        raise ToolTimeoutError(f"reading {args.url} timed out: {exc}") from exc
    except (httpx.TransportError, httpx.InvalidURL, OSError) as exc:
        raise FetchError(
            f"reading {args.url} failed: {type(exc).__name__}: {exc}", retryable=True
        ) from exc
    if status >= 400:
        raise FetchError(f"{final_url} answered HTTP {status}; not cited", retryable=status >= 500)
    if "html" not in ctype.lower() and not ctype.lower().startswith("text/"):
        raise ToolArgumentsError(
            f"{final_url} is {ctype or 'not text'}, not a web page; use http.fetch"
        )
    page = data.decode("utf-8", errors="replace")
    info: dict[str, Any] = (
        await asyncio.to_thread(_extract, page, final_url)
        if "html" in ctype.lower()
        else {"title": final_url, "text": page, "author": None, "date": None, "extracted": False}
    )
    citation = await asyncio.to_thread(
        citations.record,
        ctx.workspace,
        url=final_url,
        title=info["title"],
        author=info["author"],
        date=info["date"],
        run_id=ctx.run_id,
        agent=ctx.agent,
    )
    text: str = info["text"].strip()
    if len(text) > args.max_chars:
        text = text[: args.max_chars] + f"\n[text cut at {args.max_chars} characters]"
    head = (
        f"[{citation.number}] {citation.title}\n{final_url}\naccessed {citation.accessed}\n"
        f"Cite this source as [{citation.number}].\n\n"
    )
    return ToolOutput(
        text=head + text, data={"citation": citation.model_dump(), "extracted": info["extracted"]}
    )


async def brief(args: BriefArgs, ctx: ToolContext) -> ToolOutput:
    parts = ctx.workspace.split_writable(args.path)
    known = {c.number: c for c in await asyncio.to_thread(citations.load, ctx.workspace)}
    cited = citations.cited_numbers(args.body)
    unknown = [n for n in cited if n not in known]
    if unknown:
        listed = (
            ", ".join(f"[{n}] {c.title}" for n, c in known.items())
            or "none (read pages with web.read first)"
        )
        raise ToolArgumentsError(
            f"the brief cites {', '.join(f'[{n}]' for n in unknown)}, which no web.read recorded; "
            f"recorded sources: {listed}"
        )
    chosen = sorted(known) if args.include_uncited else cited
    references = "\n".join(f"- {known[n].reference()}" for n in chosen)
    document = f"# {args.title.strip()}\n\n{args.body.strip()}\n\n## References\n\n{references or '(none)'}\n"
    await asyncio.to_thread(write_atomic, ctx.workspace, "/".join(parts), document.encode())
    return ToolOutput(
        text=f"wrote {'/'.join(parts)} with {len(chosen)} reference(s)\n\n## References\n\n{references}",
        data={"path": "/".join(parts), "references": chosen},
    )


def make_tools() -> tuple[Tool, ...]:
    robots = Robots()  # one cache per registry, never a module-level singleton

    @tool("web.read", permission=Permission.NETWORK, args_model=ReadArgs)
    async def web_read(args: ReadArgs, ctx: ToolContext) -> ToolOutput:
        """Read a web page's main text (no menus or ads) and record it as a numbered citation.
        Respects robots.txt; private addresses are refused. Cite it as [n] in research.brief."""
        return await read(args, ctx, robots)

    @tool("research.brief", permission=Permission.WRITE, args_model=BriefArgs)
    async def research_brief(args: BriefArgs, ctx: ToolContext) -> ToolOutput:
        """Write a Markdown brief citing sources read with web.read ([1], [2, 3]) and add a
        References section (title, URL, access date) for them."""
        return await brief(args, ctx)

    return (web_read, research_brief)


TOOLS = make_tools()
