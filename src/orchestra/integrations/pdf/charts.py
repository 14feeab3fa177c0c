"""Charts for PDF documents: a small JSON spec drawn with matplotlib into a PNG.

Agents describe data, not code: ``{"kind": "bar", "labels": [...], "series":
{"name": [values]}}``; this module draws it headless (the Agg backend, no display)
with limits on points and series, so a chart can never run code or exhaust memory.
"""

from __future__ import annotations

import io
from typing import Literal

from pydantic import BaseModel, Field

from orchestra.integrations.pdf.errors import ChartSpecError

MAX_POINTS = 500
MAX_SERIES = 12


class ChartSpec(BaseModel):
    kind: Literal["bar", "line", "pie"] = "bar"
    title: str = Field(default="", max_length=200)
    labels: list[str] = Field(min_length=1, max_length=MAX_POINTS, description="x labels / slices")
    series: dict[str, list[float]] = Field(
        min_length=1, max_length=MAX_SERIES, description="name -> one value per label"
    )
    xlabel: str = Field(default="", max_length=100)
    ylabel: str = Field(default="", max_length=100)
    colors: list[str] = Field(default_factory=list, max_length=MAX_SERIES)
    width_in: float = Field(default=6.0, ge=2, le=12)
    height_in: float = Field(default=3.2, ge=1.5, le=12)


def render_chart(name: str, spec: ChartSpec) -> bytes:
    """The chart as PNG bytes (150 dpi); :class:`ChartSpecError` for data that does not fit."""
    for series, values in spec.series.items():
        if len(values) != len(spec.labels):
            raise ChartSpecError(
                f"chart {name!r}: series {series!r} has {len(values)} values for "
                f"{len(spec.labels)} labels; give one value per label"
            )
    if spec.kind == "pie" and len(spec.series) != 1:
        raise ChartSpecError(f"chart {name!r}: a pie chart takes exactly one series")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(spec.width_in, spec.height_in), dpi=150)
    axes = figure.subplots()
    colors = spec.colors or None
    if spec.kind == "pie":
        [values] = spec.series.values()
        axes.pie(values, labels=spec.labels, colors=colors, autopct="%1.0f%%")
        axes.set_aspect("equal")
    else:
        positions = list(range(len(spec.labels)))
        count = len(spec.series)
        width = 0.8 / count
        for i, (series, values) in enumerate(spec.series.items()):
            color = spec.colors[i] if i < len(spec.colors) else None
            if spec.kind == "bar":
                offset = [p - 0.4 + width * (i + 0.5) for p in positions]
                axes.bar(offset, values, width=width, label=series, color=color)
            else:
                axes.plot(positions, values, marker="o", label=series, color=color)
        axes.set_xticks(positions, spec.labels)
        axes.set_xlabel(spec.xlabel)
        axes.set_ylabel(spec.ylabel)
        if count > 1:
            axes.legend()
    if spec.title:
        axes.set_title(spec.title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


__all__ = ["ChartSpec", "render_chart"]
