"""Per-tool statistics read from the stored ``tool_result`` events (see :mod:`orchestra.tools.stats`)."""

from __future__ import annotations

import json

from sqlalchemy import Connection, select

from orchestra.store.database import Database
from orchestra.store.tables import events
from orchestra.tools.stats import ToolStat, ToolStats


async def tool_stats(database: Database) -> list[ToolStat]:
    """Calls, errors, p50/p99 latency and last error of every tool any run has called."""

    def work(conn: Connection) -> ToolStats:
        stats = ToolStats()
        query = select(events.c.ts, events.c.content_json).where(events.c.type == "tool_result")
        for row in conn.execute(query):
            stats.record(json.loads(row.content_json), row.ts)
        return stats

    return (await database.read(work)).snapshot()
