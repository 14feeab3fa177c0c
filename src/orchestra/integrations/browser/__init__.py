"""Lincoln's browser tools (``browser.*``): Playwright on Debian's Chromium, behind the
network guard. Registered through the ``orchestra.tools`` entry point ``browser``."""

from __future__ import annotations

from orchestra.integrations.browser.tools import make_tools
from orchestra.tools.registry import ToolRegistry


def register(registry: ToolRegistry) -> None:
    """Add ``browser.open``, ``browser.search``, ``browser.collect``, ``browser.click`` and
    ``browser.screenshot``; Playwright is imported when one of them runs."""
    for t in make_tools():
        registry.register(t)


__all__ = ["register"]
