"""Markdown or HTML → PDF with WeasyPrint, every resource fetched from the workspace.

* Markdown is turned into HTML by markdown-it-py (CommonMark + tables), then laid out
  with a stylesheet built from :class:`PdfStyle` (page size, margins, fonts, accent
  colour, page numbers) plus an optional CSS file of the workspace.
* **Resources are confined** (:class:`WorkspaceFetcher`): ``file:`` URLs only inside
  the workspace (through the tools' path rules, with a size limit), ``chart:<name>``
  for charts drawn from the call's data, ``data:`` URLs; anything else — ``http(s)``,
  a file outside the workspace — is refused and reported as skipped, never fetched.
  Relative URLs resolve against the folder of the source file, like a Markdown viewer.
"""

from __future__ import annotations

import mimetypes
import os
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, Field

from orchestra.integrations.confined_io import read_bytes
from orchestra.integrations.pdf.charts import ChartSpec, render_chart
from orchestra.integrations.pdf.errors import PdfRenderError
from orchestra.tools.errors import ToolError
from orchestra.tools.workspace import Workspace


class PdfStyle(BaseModel):
    page_size: Literal["A4", "A3", "A5", "Letter", "Legal"] = "A4"
    landscape: bool = False
    margin_mm: float = Field(default=18, ge=0, le=60)
    font_family: str = Field(default="DejaVu Sans, Helvetica, Arial, sans-serif", max_length=200)
    font_size_pt: float = Field(default=10.5, ge=6, le=24)
    accent_color: str = Field(default="#1f4e79", pattern=r"^#[0-9a-fA-F]{3,8}$")
    page_numbers: bool = True
    title: str = Field(
        default="", max_length=300, description="Document title (metadata, first heading)."
    )


def stylesheet(style: PdfStyle) -> str:
    """The CSS every document gets, from its style options."""
    orientation = " landscape" if style.landscape else ""
    numbers = (
        "@bottom-center { content: counter(page) ' / ' counter(pages); font-size: 8pt; color: #666; }"
        if style.page_numbers
        else ""
    )
    return f"""
@page {{ size: {style.page_size}{orientation}; margin: {style.margin_mm}mm; {numbers} }}
body {{ font-family: {style.font_family}; font-size: {style.font_size_pt}pt; line-height: 1.4; }}
h1, h2, h3 {{ color: {style.accent_color}; }}
h1 {{ border-bottom: 2px solid {style.accent_color}; padding-bottom: 4pt; }}
table {{ border-collapse: collapse; margin: 8pt 0; }}
th, td {{ border: 1px solid #bbb; padding: 3pt 6pt; }}
th {{ background: {style.accent_color}; color: white; }}
img {{ max-width: 100%; }}
code, pre {{ font-family: DejaVu Sans Mono, monospace; font-size: 0.9em; }}
pre {{ background: #f4f4f4; padding: 6pt; white-space: pre-wrap; }}
"""


def markdown_to_html(text: str) -> str:
    from markdown_it import MarkdownIt

    html: str = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    return html


def document(body_html: str, style: PdfStyle, extra_css: str = "") -> str:
    """A whole HTML document around ``body_html`` (a full document is kept as given)."""
    if "<html" in body_html[:2000].lower():
        return body_html
    title = f"<title>{escape(style.title)}</title>" if style.title else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'>{title}"
        f"<style>{stylesheet(style)}{extra_css}</style></head><body>{body_html}</body></html>"
    )


@dataclass
class WorkspaceFetcher:
    """WeasyPrint's URL fetcher for one render; see the module docstring."""

    workspace: Workspace
    charts: Mapping[str, bytes]
    """Chart name -> PNG, drawn before layout so a bad chart is an error, not a gap."""
    limit: int
    skipped: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)

    def build(self) -> Any:
        from weasyprint.urls import URLFetcher, URLFetcherResponse

        outer = self

        class _Fetcher(URLFetcher):  # type: ignore[misc]  # untyped base
            def fetch(self, url: str, headers: Any = None) -> Any:
                try:
                    data, mime = outer.resolve(url)
                except ToolError as error:
                    outer.skipped.append(f"{url}: {error.message}")
                    raise
                outer.fetched.append(url)
                return URLFetcherResponse(url, body=data, headers={"Content-Type": mime})

        return _Fetcher()

    def resolve(self, url: str) -> tuple[bytes, str]:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "chart":
            name = url.split(":", 1)[1]
            png = self.charts.get(name)
            if png is None:
                known = ", ".join(sorted(self.charts)) or "none"
                raise PdfRenderError(f"no chart named {name!r} (charts given: {known})")
            return png, "image/png"
        if scheme == "data":
            from urllib.request import urlopen

            with urlopen(url) as response:  # data: URLs are decoded locally, no network
                return response.read(self.limit), response.headers.get_content_type()
        if scheme == "file":
            path = os.path.realpath(unquote(urlsplit(url).path))
            root = str(self.workspace.root)
            if not (path + os.sep).startswith(root + os.sep):
                raise PdfRenderError("outside the workspace; only workspace files are embedded")
            relative = posixpath.relpath(path, root)
            mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
            return read_bytes(self.workspace, relative, limit=self.limit), mime
        raise PdfRenderError(
            f"{scheme or 'relative'} URLs are not fetched; copy the file into the workspace "
            "(e.g. with http.fetch) and link it by its path"
        )


def render_pdf(
    source: str,
    *,
    workspace: Workspace,
    source_dir: str = "",
    markdown: bool = True,
    style: PdfStyle | None = None,
    charts: Mapping[str, ChartSpec] | None = None,
    extra_css: str = "",
    max_resource_bytes: int = 20 * 1024 * 1024,
) -> tuple[bytes, WorkspaceFetcher]:
    """The PDF bytes and the fetcher (what was embedded or skipped). Blocking: call in a thread."""
    from weasyprint import CSS, HTML

    style = style or PdfStyle()
    body = markdown_to_html(source) if markdown else source
    html = document(body, style, extra_css)
    drawn = {name: render_chart(name, spec) for name, spec in (charts or {}).items()}
    fetcher = WorkspaceFetcher(workspace, drawn, max_resource_bytes)
    folder = workspace.root.joinpath(*workspace.split(source_dir)) if source_dir else workspace.root
    base_url = folder.as_uri() + "/"
    try:
        rendered = HTML(string=html, base_url=base_url, url_fetcher=fetcher.build())
        extra = [CSS(string=stylesheet(style))] if "<html" in body[:2000].lower() else []
        pdf = rendered.write_pdf(stylesheets=extra)
    except ToolError:
        raise
    except Exception as exc:  # boundary: WeasyPrint's own failures
        raise PdfRenderError(f"rendering the PDF failed: {type(exc).__name__}: {exc}") from exc
    if pdf is None:
        raise PdfRenderError("rendering the PDF produced nothing")
    return pdf, fetcher


__all__ = [
    "PdfStyle",
    "WorkspaceFetcher",
    "document",
    "markdown_to_html",
    "render_pdf",
    "stylesheet",
]
