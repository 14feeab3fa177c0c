"""``GET /tools/stats``: per-tool calls, errors, p50/p99 latency and last error."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from orchestra.api.deps import Services, Viewer
from orchestra.api.routes import ERRORS
from orchestra.runtime.tool_stats import tool_stats

router = APIRouter(responses=ERRORS)


@router.get("/tools/stats", tags=["tools"])
async def read_tool_stats(who: Viewer, services: Services) -> list[dict[str, Any]]:
    """Every tool any stored run has called, with its figures (latencies in ms)."""
    return [asdict(stat) for stat in await tool_stats(services.database)]
