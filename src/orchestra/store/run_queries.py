"""Read-only queries over runs for listings and dashboards (API pages, metrics, start-up).

The engine's ``RunStore`` protocol covers what driving a run needs; these are
the questions an operator asks across runs: a filtered page (newest first,
keyset pagination on ``(created_at, id)``), counts by status, and which runs
are unfinished.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from orchestra.engine.ids import RunId, StepId
from orchestra.engine.protocols import UsageTotals
from orchestra.engine.states import RunStatus
from orchestra.store.database import Database
from orchestra.store.runs.rows import loads
from orchestra.store.tables import runs, step_attempts, steps


@dataclass(frozen=True, slots=True)
class RunRow:
    id: RunId
    workflow: str
    status: RunStatus
    created_at: float
    updated_at: float
    finished_at: float | None
    usage: UsageTotals


@dataclass(frozen=True, slots=True)
class AttemptRow:
    """One attempt of a step. ``status`` is a step status or ``interrupted`` (the worker
    went away mid-attempt: killed, detached, or its lease taken over)."""

    run_id: RunId
    step_id: StepId
    attempt: int
    fence: int
    owner: str
    status: str
    started_at: float
    finished_at: float | None
    usage: UsageTotals
    error: dict[str, Any] | None
    worker: str | None = None
    """The ``orchestra worker`` that ran it (None: run in the driving process)."""


@dataclass(frozen=True, slots=True)
class RunPosition:
    """Where a page ended: the next page starts strictly after it."""

    created_at: float
    run_id: str


class RunQueries:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def page(
        self,
        limit: int,
        *,
        status: RunStatus | None = None,
        workflow: str | None = None,
        after: RunPosition | None = None,
    ) -> list[RunRow]:
        """Runs newest first (ties broken by id, descending), with their summed usage."""

        def work(conn: Connection) -> list[RunRow]:
            query = (
                select(
                    runs.c.id,
                    runs.c.workflow_name,
                    runs.c.status,
                    runs.c.created_at,
                    runs.c.updated_at,
                    runs.c.finished_at,
                )
                .order_by(runs.c.created_at.desc(), runs.c.id.desc())
                .limit(limit)
            )
            if status is not None:
                query = query.where(runs.c.status == status.value)
            if workflow is not None:
                query = query.where(runs.c.workflow_name == workflow)
            if after is not None:
                query = query.where(
                    or_(
                        runs.c.created_at < after.created_at,
                        and_(runs.c.created_at == after.created_at, runs.c.id < after.run_id),
                    )
                )
            rows = list(conn.execute(query).all())
            usage = _usage(conn, [row.id for row in rows])
            return [
                RunRow(
                    RunId(row.id),
                    row.workflow_name,
                    RunStatus(row.status),
                    row.created_at,
                    row.updated_at,
                    row.finished_at,
                    usage.get(row.id, UsageTotals()),
                )
                for row in rows
            ]

        return await self.database.read(work)

    async def counts_by_status(self) -> dict[RunStatus, int]:
        def work(conn: Connection) -> list[Any]:
            return list(
                conn.execute(select(runs.c.status, func.count()).group_by(runs.c.status)).all()
            )

        counts = {status: 0 for status in RunStatus}
        for status, count in await self.database.read(work):
            counts[RunStatus(status)] = int(count)
        return counts

    async def unfinished(self) -> list[tuple[RunId, str | None]]:
        """Runs not in a terminal state, oldest first, with their current lease owner."""
        open_states = [s.value for s in RunStatus if not s.terminal]

        def work(conn: Connection) -> list[Any]:
            return list(
                conn.execute(
                    select(runs.c.id, runs.c.owner)
                    .where(runs.c.status.in_(open_states))
                    .order_by(runs.c.created_at)
                ).all()
            )

        return [(RunId(row.id), row.owner) for row in await self.database.read(work)]

    async def attempts(self, run_id: RunId) -> list[AttemptRow]:
        """Every attempt of the run's steps, oldest first."""

        def work(conn: Connection) -> list[AttemptRow]:
            rows = conn.execute(
                select(step_attempts)
                .where(step_attempts.c.run_id == run_id)
                .order_by(
                    step_attempts.c.started_at, step_attempts.c.step_id, step_attempts.c.attempt
                )
            )
            return [
                AttemptRow(
                    RunId(row.run_id),
                    StepId(row.step_id),
                    row.attempt,
                    row.fence,
                    row.owner,
                    row.status,
                    row.started_at,
                    row.finished_at,
                    UsageTotals.from_json(loads(row.usage_json)),
                    loads(row.error_json),
                    row.worker,
                )
                for row in rows
            ]

        return await self.database.read(work)


def _usage(conn: Connection, run_ids: Collection[str]) -> dict[str, UsageTotals]:
    if not run_ids:
        return {}
    totals: dict[str, UsageTotals] = {}
    rows = conn.execute(
        select(steps.c.run_id, steps.c.usage_json).where(
            steps.c.run_id.in_(list(run_ids)), steps.c.usage_json.is_not(None)
        )
    )
    for run_id, text in rows:
        totals[run_id] = totals.get(run_id, UsageTotals()) + UsageTotals.from_json(json.loads(text))
    return totals
