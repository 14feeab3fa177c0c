"""Errors of the PDF integration.

Tree::

    ToolUserError
    └── ChartSpecError     a chart's data does not fit its kind (lengths, empty series)
    ToolRuntimeError
    └── PdfRenderError     WeasyPrint or matplotlib failed on otherwise valid input
"""

from __future__ import annotations

from orchestra.tools.errors import ToolRuntimeError, ToolUserError


class ChartSpecError(ToolUserError):
    """Chart data that cannot be drawn; the message names the chart and the problem."""


class PdfRenderError(ToolRuntimeError):
    """The renderer failed; the message says on what."""


__all__ = ["ChartSpecError", "PdfRenderError"]
