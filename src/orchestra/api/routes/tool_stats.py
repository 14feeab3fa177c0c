"""``GET /tools``: the tool catalogue (with versions and what the caller's role may call)
and ``GET /tools/stats``: per-tool calls, errors, p50/p99 latency and last error."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from orchestra.api.deps import Services, Viewer
from orchestra.api.routes import ERRORS
from orchestra.runtime.tool_stats import tool_stats
from orchestra.tools.access import access_from

router = APIRouter(responses=ERRORS)


@router.get("/tools/stats", tags=["tools"])
async def read_tool_stats(who: Viewer, services: Services) -> list[dict[str, Any]]:
    """Every tool any stored run has called, with its figures (latencies in ms)."""
    return [asdict(stat) for stat in await tool_stats(services.database)]


@router.get("/tools", tags=["tools"])
async def read_tool_catalogue(who: Viewer, services: Services) -> list[dict[str, Any]]:
    """Every registered tool (built-ins, plugins, bus tools) with its version; ``permitted``
    and ``refusal`` say whether ``[tools.access]`` lets the caller's role call it. MCP
    server tools appear in ``orchestra tools list``, which starts the servers."""
    access = access_from(services.settings.tools.access)
    rows: list[dict[str, Any]] = []
    for tool in services.tools.tools():
        refusal = access.refusal(tool.name, role=who.role)
        rows.append(
            {
                "name": tool.name,
                "version": tool.version,
                "source": tool.source,
                "permission": tool.permission.value,
                "description": tool.description,
                "parameters": tool.parameters,
                "permitted": refusal is None,
                "refusal": refusal,
            }
        )
    return rows
