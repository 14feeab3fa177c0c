"""Reads the shared PostgreSQL database directly, as the tests' independent witness."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def query(url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(_dsn(url))
        try:
            return [dict(row) for row in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(run())


def attempts(url: str, run_id: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT run_id, step_id, attempt, fence, status, worker FROM step_attempts"
    if run_id is None:
        return query(url, sql + " ORDER BY run_id, step_id, attempt")
    return query(url, sql + " WHERE run_id = $1 ORDER BY step_id, attempt", run_id)


def seqs(url: str, run_id: str) -> list[int]:
    rows = query(url, "SELECT seq FROM events WHERE run_id = $1 ORDER BY seq", run_id)
    return [row["seq"] for row in rows]


def model_calls(url: str, run_id: str) -> dict[str, int]:
    rows = query(
        url,
        "SELECT step_id, count(*) AS n FROM model_calls WHERE run_id = $1 GROUP BY step_id",
        run_id,
    )
    return {row["step_id"]: row["n"] for row in rows}


def run_ids(url: str) -> list[str]:
    return [row["id"] for row in query(url, "SELECT id FROM runs ORDER BY created_at")]
