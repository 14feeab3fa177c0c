"""``pdf.render`` checked on the rendered pages: the text is there (pdftotext), and the
workspace image and the matplotlib chart are drawn (pdftoppm pages, pixel colours)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from orchestra.integrations.pdf import register
from orchestra.tools.protocol import ToolContext
from orchestra.tools.registry import ToolRegistry
from orchestra.tools.workspace import Workspace
from tests.integrations.pdf_pages import count_near, pdf_pages, pdf_text, png_pixels, solid_png

RED = (230, 20, 20)
GREEN = (20, 170, 60)


@pytest.fixture
def tools() -> ToolRegistry:
    registry = ToolRegistry()
    register(registry)
    return registry


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(workspace=Workspace.create(tmp_path / "ws", "run-1"))


async def test_markdown_with_an_image_and_a_chart_renders_both(
    ctx: ToolContext, tools: ToolRegistry, tmp_path: Path
) -> None:
    root = ctx.workspace.root
    (root / "output" / "img").mkdir()
    (root / "output" / "img" / "logo.png").write_bytes(solid_png(RED, 60))
    (root / "output" / "report.md").write_text(
        "# Quarterly report\n\nRevenue grew in **every** region.\n\n"
        "![logo](img/logo.png)\n\n"
        "| Region | Revenue |\n| --- | --- |\n| North | 120 |\n| South | 95 |\n\n"
        "![Revenue by region](chart:revenue)\n"
    )
    result = await tools.call(
        "pdf.render",
        {
            "source": "output/report.md",
            "charts": {
                "revenue": {
                    "kind": "bar",
                    "title": "Revenue",
                    "labels": ["North", "South", "East"],
                    "series": {"2026": [120, 95, 70]},
                    "colors": ["#14aa3c"],
                }
            },
            "style": {"page_size": "A5", "accent_color": "#1f4e79", "title": "Q report"},
        },
        ctx,
    )
    assert result.status == "ok", result.content
    assert result.data is not None and result.data["path"] == "output/report.pdf"
    assert result.data["skipped"] == []
    pdf = root / "output" / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")

    text = pdf_text(pdf)
    assert "Quarterly report" in text
    assert "Revenue grew in every region." in text
    assert "North" in text and "120" in text
    assert re.search(r"\b1\s*/\s*1\b", text), "no page number in the footer"

    pages = pdf_pages(pdf, tmp_path / "pages")
    pixels = [p for page in pages for p in png_pixels(page)[2]]
    assert count_near(pixels, RED) > 200, "the workspace image is not on the page"
    assert count_near(pixels, GREEN, tol=30) > 200, "the chart's green bars are not on the page"


async def test_html_with_style_options_and_extra_css(
    ctx: ToolContext, tools: ToolRegistry, tmp_path: Path
) -> None:
    root = ctx.workspace.root
    (root / "page.html").write_text("<h1>Landscape</h1><p class='note'>styled</p>")
    (root / "extra.css").write_text(".note { background: rgb(230, 20, 20); padding: 30pt; }")
    result = await tools.call(
        "pdf.render",
        {"source": "page.html", "output": "out/page.pdf", "css": "extra.css",
         "style": {"landscape": True, "page_numbers": False}},
        ctx,
    )  # fmt: skip
    assert result.status == "ok", result.content
    pdf = root / "out" / "page.pdf"
    assert "Landscape" in pdf_text(pdf)
    [page] = pdf_pages(pdf, tmp_path / "pages")
    width, height, pixels = png_pixels(page)
    assert width > height, "landscape pages are wider than tall"
    assert count_near(pixels, RED) > 200, "the extra CSS was not applied"


async def test_resources_outside_the_workspace_are_never_fetched(
    ctx: ToolContext, tools: ToolRegistry, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(solid_png(RED))
    result = await tools.call(
        "pdf.render",
        {
            "content": f"# Doc\n\n![a](file://{secret})\n\n![b](../../secret.png)\n\n"
            "![c](http://127.0.0.1:9/x.png)\n\n![d](chart:missing)\n",
        },
        ctx,
    )
    assert result.status == "ok", result.content
    assert result.data is not None
    skipped = "\n".join(result.data["skipped"])
    assert "outside the workspace" in skipped
    assert "http URLs are not fetched" in skipped
    assert "no chart named 'missing'" in skipped
    assert result.data["embedded"] == []
    pages = pdf_pages(ctx.workspace.root / "output" / "document.pdf", tmp_path / "pages")
    assert count_near(png_pixels(pages[0])[2], RED) == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, "either source"),
        ({"source": "a.md", "content": "x"}, "either source"),
        ({"source": "../x.md"}, "'..'"),
        ({"source": "missing.md"}, "does not exist"),
        ({"content": "x", "output": "out.txt"}, "must end in .pdf"),
        ({"content": "x", "output": ".git/x.pdf"}, "version-control"),
        ({"content": "x", "style": {"accent_color": "red; } body { x"}}, "accent_color"),
        (
            {"content": "x", "charts": {"c": {"labels": ["a", "b"], "series": {"s": [1]}}}},
            "one value per label",
        ),
        (
            {
                "content": "x",
                "charts": {"c": {"kind": "pie", "labels": ["a"], "series": {"s": [1], "t": [2]}}},
            },
            "exactly one series",
        ),
    ],
)
async def test_bad_arguments_are_clear_errors(
    ctx: ToolContext, tools: ToolRegistry, args: dict[str, Any], expected: str
) -> None:
    result = await tools.call("pdf.render", args, ctx)
    assert result.status == "error"
    assert expected in result.content
