"""Per-tool monitoring: calls, errors, p50/p99 latency and the last error of each tool.

Built from the ``tool_result`` events the agent loop stores for every call (tool name,
status, ``duration_ms``, error text), so the figures cover every process that wrote to
the database and survive restarts: ``orchestra tools stats``, ``GET /api/v1/tools/stats``
(:mod:`orchestra.runtime.tool_stats` reads them) and, live, ``/metrics``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ERROR_CHARS = 300
"""How much of the last error's text is kept."""


@dataclass(frozen=True, slots=True)
class ToolStat:
    """What is known of one tool's calls; latencies in milliseconds (None when unmeasured)."""

    tool: str
    calls: int
    errors: int
    p50_ms: float | None
    p99_ms: float | None
    last_error: str | None
    last_error_at: float | None


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending, non-empty list."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class _Tally:
    calls: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    last_error: str | None = None
    last_error_at: float | None = None


class ToolStats:
    """Adds up tool results; :meth:`snapshot` gives one :class:`ToolStat` per tool."""

    def __init__(self) -> None:
        self._tallies: dict[str, _Tally] = {}

    def record(self, content: Mapping[str, Any], at: float) -> None:
        """Count one ``tool_result`` event's content (``tool``, ``status``, ``duration_ms``,
        ``error``) that happened at ``at``."""
        tool = content.get("tool")
        if not isinstance(tool, str):
            return
        tally = self._tallies.setdefault(tool, _Tally())
        tally.calls += 1
        duration = content.get("duration_ms")
        if isinstance(duration, int | float):
            tally.latencies.append(float(duration))
        if content.get("status") != "ok":
            tally.errors += 1
            if tally.last_error_at is None or at >= tally.last_error_at:
                error = content.get("error") or content.get("result") or ""
                tally.last_error = str(error)[:ERROR_CHARS]
                tally.last_error_at = at

    def snapshot(self) -> list[ToolStat]:
        stats = []
        for tool in sorted(self._tallies):
            tally = self._tallies[tool]
            ordered = sorted(tally.latencies)
            stats.append(
                ToolStat(
                    tool=tool,
                    calls=tally.calls,
                    errors=tally.errors,
                    p50_ms=percentile(ordered, 0.5) if ordered else None,
                    p99_ms=percentile(ordered, 0.99) if ordered else None,
                    last_error=tally.last_error,
                    last_error_at=tally.last_error_at,
                )
            )
        return stats
