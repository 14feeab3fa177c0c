"""``[plugins.browser]``: where Chromium is and the browser tools' limits."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

LAUNCH_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
"""Chromium's flags: headless, no GPU, and none of its own background traffic (updates,
sync, field trials) — every request the browser makes is one a page asked for.
``--no-sandbox``: Chromium's sandbox needs user namespaces that containers often lack."""


class BrowserSettings(BaseModel):
    """The ``[plugins.browser]`` table of ``orchestra.toml``; every field has a default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    executable_path: str = "/usr/bin/chromium"
    """Debian's Chromium; Playwright never downloads a browser of its own."""
    navigation_timeout_s: float = Field(default=20.0, gt=0, le=300)
    """Longest a page load (open, click, search) may take."""
    action_timeout_s: float = Field(default=10.0, gt=0, le=120)
    """Longest Playwright waits for an element to click or fill."""
    call_timeout_s: float = Field(default=60.0, gt=0, le=600)
    """Wall clock of one tool call, pagination included."""
    max_text_chars: int = Field(default=12_000, ge=500, le=200_000)
    """Page text returned to the model (more is cut, with a note)."""
    max_links: int = Field(default=40, ge=0, le=500)
    """Links listed after a page loads, for the model to click."""
    max_items: int = Field(default=200, ge=1, le=5000)
    """Records one ``browser.collect`` returns at most."""
    max_pages: int = Field(default=10, ge=1, le=100)
    """Pages one ``browser.collect`` follows through a "next" link at most."""
    max_response_bytes: int = Field(default=10_000_000, ge=10_000)
    """Largest response the browser may receive (each request, page or asset)."""
    screenshot_max_bytes: int = Field(default=10_000_000, ge=10_000)
    viewport_width: int = Field(default=1280, ge=320, le=3840)
    viewport_height: int = Field(default=900, ge=240, le=2160)
