"""PDF documents: ``pdf.render`` (WeasyPrint + matplotlib) and the run report.

:func:`register` is the ``orchestra.tools`` entry point; WeasyPrint and matplotlib are
imported only when a document is rendered.
"""

from __future__ import annotations

from orchestra.integrations.pdf.tool import TOOLS
from orchestra.tools.registry import ToolRegistry


def register(registry: ToolRegistry) -> None:
    """Add ``pdf.render``."""
    for t in TOOLS:
        registry.register(t)


__all__ = ["register"]
