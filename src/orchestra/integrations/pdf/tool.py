"""``pdf.render``: a Markdown or HTML file (or text) of the workspace → a PDF in the workspace.

Limits: the source is at most 2 MB, each embedded file at most ``tools.file_size_mb``,
at most 20 charts of at most 500 points; only workspace files, ``data:`` URLs and the
call's charts are embedded (see :mod:`.render`).
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field, model_validator

from orchestra.integrations.confined_io import read_bytes, write_bytes
from orchestra.integrations.pdf.charts import ChartSpec
from orchestra.integrations.pdf.render import PdfStyle, render_pdf
from orchestra.tools.errors import ToolArgumentsError
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, tool

SOURCE_LIMIT = 2 * 1024 * 1024


class RenderArgs(BaseModel):
    source: str | None = Field(
        default=None, description="Workspace path of a .md or .html file, e.g. 'output/report.md'."
    )
    content: str | None = Field(
        default=None,
        max_length=SOURCE_LIMIT,
        description="Markdown or HTML text instead of a file.",
    )
    format: str = Field(
        default="auto", pattern="^(auto|markdown|html)$", description="auto: by file extension."
    )
    output: str = Field(
        default="", description="Workspace path of the PDF; default output/<name>.pdf."
    )
    charts: dict[str, ChartSpec] = Field(
        default_factory=dict,
        max_length=20,
        description="Charts by name; embed one with ![caption](chart:NAME) in Markdown or "
        "<img src='chart:NAME'> in HTML.",
    )
    style: PdfStyle = Field(default_factory=PdfStyle)
    css: str | None = Field(default=None, description="Workspace path of extra CSS.")

    @model_validator(mode="after")
    def _one_source(self) -> RenderArgs:
        if (self.source is None) == (self.content is None):
            raise ValueError("give either source (a workspace file) or content (text)")
        return self


def _render(args: RenderArgs, ctx: ToolContext) -> tuple[str, int, list[str], list[str]]:
    workspace = ctx.workspace
    limit = ctx.settings.file_size_mb * 1024 * 1024
    source_dir = ""
    if args.source is not None:
        parts = workspace.split(args.source)
        text = read_bytes(workspace, args.source, limit=SOURCE_LIMIT).decode("utf-8", "replace")
        source_dir = "/".join(parts[:-1])
        stem = parts[-1].rsplit(".", 1)[0] if parts else "document"
        is_html = parts[-1].lower().endswith((".html", ".htm"))
    else:
        text, stem = args.content or "", "document"
        is_html = text.lstrip()[:1] == "<"
    if args.format != "auto":
        is_html = args.format == "html"
    output = args.output or f"output/{stem}.pdf"
    if not output.lower().endswith(".pdf"):
        raise ToolArgumentsError(f"output {output!r} must end in .pdf")
    css = ""
    if args.css is not None:
        css = read_bytes(workspace, args.css, limit=SOURCE_LIMIT).decode("utf-8", "replace")
    pdf, fetcher = render_pdf(
        text,
        workspace=workspace,
        source_dir=source_dir,
        markdown=not is_html,
        style=args.style,
        charts=args.charts,
        extra_css=css,
        max_resource_bytes=limit,
    )
    if len(pdf) > limit:
        raise ToolArgumentsError(
            f"the PDF is {len(pdf)} bytes, over the {ctx.settings.file_size_mb} MB file limit"
        )
    write_bytes(workspace, output, pdf)
    return output, len(pdf), fetcher.fetched, fetcher.skipped


@tool("pdf.render", permission=Permission.WRITE)
async def pdf_render(args: RenderArgs, ctx: ToolContext) -> ToolOutput:
    """Turn Markdown or HTML from the workspace into a styled PDF in the workspace, with
    images from the workspace and charts drawn from data you give (matplotlib)."""
    output, size, fetched, skipped = await asyncio.to_thread(_render, args, ctx)
    text = f"wrote {output} ({size} bytes, {len(fetched)} images/resources embedded)"
    if skipped:
        text += "\nnot embedded:\n" + "\n".join(f"- {s}" for s in skipped)
    return ToolOutput(
        text=text, data={"path": output, "bytes": size, "embedded": fetched, "skipped": skipped}
    )


TOOLS: tuple[Tool, ...] = (pdf_render,)
