"""``http.fetch``: GET or POST a URL with size and time limits; HTML comes back as readable text.

Every hop (the first request and each redirect, followed here by hand) goes
through the context's HTTP client (``ToolContext.http_client``), whose default
transport resolves and checks it (:mod:`orchestra.tools.http`) and connects
to the checked address only. The body is read in chunks and the fetch fails once it
passes ``tools.http_max_bytes``; the whole fetch is bounded by
``tools.http_timeout_s``. POSTs carry the step's idempotency key.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, Field

from orchestra.tools.errors import FetchError, ToolArgumentsError, ToolError, ToolTimeoutError
from orchestra.tools.netguard import Resolver, policy_from
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, tool

USER_AGENT = "Orchestra-http.fetch/0.1 (+https://github.com/orchestra)"
_REDIRECTS = {301, 302, 303, 307, 308}


class FetchArgs(BaseModel):
    url: str = Field(description="http:// or https:// URL to fetch.")
    method: Literal["GET", "POST"] = "GET"
    body: str | None = Field(default=None, description="Request body for POST (sent as given).")
    content_type: str = Field(
        default="application/json", description="Content-Type of the POST body."
    )
    raw: bool = Field(default=False, description="Return HTML as-is instead of extracted text.")


class _TextExtractor(HTMLParser):
    """Readable text from HTML: drops scripts/styles, breaks lines at block elements."""

    _SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head"})
    _BLOCK = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
         "header", "footer", "pre", "blockquote", "table", "ul", "ol", "hr"}
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).splitlines())
        out: list[str] = []
        for line in lines:
            if line or (out and out[-1]):
                out.append(line)
        return "\n".join(out).strip()


def html_to_text(html: str) -> tuple[str, str]:
    """(title, readable text) of an HTML document."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.title.strip(), parser.text()


async def fetch(args: FetchArgs, ctx: ToolContext) -> tuple[int, str, str, bytes]:
    """Follow redirects by hand through the context's HTTP client (whose transport checks
    every hop). Returns (status, final URL, content type, body)."""
    s = ctx.settings
    url, method, body = args.url, args.method, args.body
    async with ctx.http_client(follow_redirects=False) as client:
        for _hop in range(s.http_max_redirects + 1):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ToolArgumentsError(
                    f"URL {url!r} must start with http:// or https:// and name a host"
                )
            headers = {
                "User-Agent": USER_AGENT,
                "Accept": "text/html,application/json,text/*;q=0.9,*/*;q=0.5",
            }
            content = body.encode() if body is not None and method == "POST" else None
            if content is not None:
                headers["Content-Type"] = args.content_type
                if ctx.idempotency_key:
                    headers["Idempotency-Key"] = ctx.idempotency_key
            clean = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
            async with client.stream(method, clean, headers=headers, content=content) as resp:
                location = resp.headers.get("location")
                if resp.status_code in _REDIRECTS and location:
                    url = urljoin(clean, location)
                    if resp.status_code == 303 or (
                        resp.status_code in (301, 302) and method == "POST"
                    ):
                        method, body = "GET", None
                    continue
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > s.http_max_bytes:
                    raise FetchError(
                        f"response is {declared} bytes, over the {s.http_max_bytes}-byte limit "
                        "(tools.http_max_bytes); fetch a smaller resource"
                    )
                data = bytearray()
                async for chunk in resp.aiter_bytes():
                    data += chunk
                    if len(data) > s.http_max_bytes:
                        raise FetchError(
                            f"response passed the {s.http_max_bytes}-byte limit "
                            "(tools.http_max_bytes); stopped reading. Fetch a smaller resource"
                        )
                ctype = resp.headers.get("content-type", "")
                return resp.status_code, clean, ctype, bytes(data)
    raise FetchError(f"more than {s.http_max_redirects} redirects starting at {args.url}")


async def fetch_checked(
    args: FetchArgs, ctx: ToolContext, *, resolver: Resolver | None = None
) -> ToolOutput:
    """The tool body, with timeouts and transport errors translated; ``resolver`` replaces
    DNS for the guarded transport (tests)."""
    import httpx  # with httpcore ~0.3 s: paid by the first fetch, not by every command

    from orchestra.tools.http import GuardedTransport

    if resolver is not None:
        s = ctx.settings
        policy = policy_from(s.allow_private_network, s.http_allowed_networks)
        ctx = replace(ctx, transport=GuardedTransport(policy, resolver=resolver))
    try:
        async with asyncio.timeout(ctx.settings.http_timeout_s):
            status, final_url, ctype, data = await fetch(args, ctx)
    except TimeoutError as exc:
        raise ToolTimeoutError(
            f"fetching {args.url} took longer than {ctx.settings.http_timeout_s:g} s"
        ) from exc
    except ToolError:
        raise
    except httpx.TimeoutException as exc:
        raise ToolTimeoutError(f"fetching {args.url} timed out: {exc}") from exc
    except (httpx.TransportError, httpx.InvalidURL, OSError) as exc:
        raise FetchError(
            f"fetching {args.url} failed: {type(exc).__name__}: {exc}", retryable=True
        ) from exc
    text = data.decode("utf-8", errors="replace")
    title = ""
    if "html" in ctype.lower() and not args.raw:
        title, text = html_to_text(text)
    head = f"HTTP {status} {final_url}\ncontent-type: {ctype}\n" + (
        f"title: {title}\n" if title else ""
    )
    return ToolOutput(
        text=f"{head}\n{text}",
        data={"status": status, "url": final_url, "content_type": ctype, "bytes": len(data)},
        is_error=status >= 400,
    )


@tool("http.fetch", permission=Permission.NETWORK)
async def http_fetch(args: FetchArgs, ctx: ToolContext) -> ToolOutput:
    """Fetch a public web page or API (GET/POST). HTML is returned as readable text.
    Private, loopback and metadata addresses are refused."""
    return await fetch_checked(args, ctx)


TOOLS: tuple[Tool, ...] = (http_fetch,)
