"""Research tools: ``web.read`` (main text and a citation) and ``research.brief``
(a Markdown brief with a references section). ``web.search`` is a built-in
(:mod:`orchestra.tools.builtin.web_search`). Registered through the
``orchestra.tools`` entry point ``research``."""

from __future__ import annotations

from orchestra.tools.registry import ToolRegistry


def register(registry: ToolRegistry) -> None:
    """Add ``web.read`` and ``research.brief``; trafilatura is imported when a page is read."""
    from orchestra.integrations.research.tools import TOOLS

    for t in TOOLS:
        registry.register(t)


__all__ = ["register"]
