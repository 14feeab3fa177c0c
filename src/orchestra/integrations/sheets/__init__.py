"""Shaun's sheet tools (``sheet.*``): CSV and XLSX in the workspace, Google Sheets through
gspread. Registered through the ``orchestra.tools`` entry point ``sheets``."""

from __future__ import annotations

from orchestra.tools.registry import ToolRegistry


def register(registry: ToolRegistry) -> None:
    """Add ``sheet.read``, ``sheet.append`` and ``sheet.update``."""
    from orchestra.integrations.sheets.tools import TOOLS

    for t in TOOLS:
        registry.register(t)


__all__ = ["register"]
