"""Per-call model usage in SQL (table ``model_calls``), and the roll-ups read from it.

:class:`SqlUsageStore` is the :class:`~orchestra.llm.usage.UsageSink` the
runtime puts behind the gateway: every call is committed in its own
transaction before the call returns to the step, so a step that succeeded
never loses the calls it made, whatever crashes afterwards. Roll-ups per step,
agent, model and deployment are ``GROUP BY`` queries over the same rows, so
they always agree with the per-call records. A call's failed tries (which
deployment, which error, how long) are kept with its row (``failed_attempts``).
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, Connection, func, insert, select

from orchestra.llm.types import FailedAttempt, Usage
from orchestra.llm.usage import UsageRecord, UsageReport, UsageTotals
from orchestra.store.database import Database
from orchestra.store.tables import model_calls

_c = model_calls.c
_ANSWERED_BY: ColumnElement[Any] = func.coalesce(func.nullif(_c.model, ""), _c.requested_model)
"""The model dimension: the model that answered, or the one asked for when none did."""

_ATTEMPTS = TypeAdapter(list[FailedAttempt])

_DIMENSIONS: dict[str, ColumnElement[Any]] = {
    "step": func.coalesce(_c.step_id, ""),
    "agent": _c.agent,
    "model": _ANSWERED_BY,
    "deployment": _c.deployment,
}

_SUMS = (
    func.count().label("calls"),
    func.coalesce(func.sum(_c.prompt_tokens), 0).label("prompt_tokens"),
    func.coalesce(func.sum(_c.completion_tokens), 0).label("completion_tokens"),
    func.coalesce(func.sum(_c.cost_usd), 0.0).label("cost_usd"),
    func.coalesce(func.sum(_c.latency_s), 0.0).label("latency_s"),
    func.coalesce(func.sum(_c.retries), 0).label("retries"),
    func.coalesce(func.sum(_c.fallbacks), 0).label("fallbacks"),
    func.count().filter(_c.cached.is_(True)).label("cached_calls"),
    func.count().filter(_c.error.is_not(None)).label("failed_calls"),
)


def _row(record: UsageRecord) -> dict[str, Any]:
    usage = record.usage
    return {
        "run_id": record.run_id or None,
        "step_id": record.step_id or None,
        "attempt": record.attempt,
        "agent": record.agent,
        "requested_model": record.requested_model,
        "model": usage.model,
        "deployment": usage.deployment,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cost_usd": usage.cost_usd,
        "latency_s": usage.latency_s,
        "retries": usage.retries,
        "fallbacks": usage.fallbacks,
        "cached": usage.cached,
        "error": record.error,
        "created_at": record.created_at,
        "failed_attempts": (
            json.dumps([a.model_dump() for a in usage.failed_attempts], separators=(",", ":"))
            if usage.failed_attempts
            else None
        ),
    }


def _totals(row: Any) -> UsageTotals:
    return UsageTotals(
        calls=int(row.calls),
        prompt_tokens=int(row.prompt_tokens),
        completion_tokens=int(row.completion_tokens),
        cost_usd=float(row.cost_usd),
        latency_s=float(row.latency_s),
        retries=int(row.retries),
        fallbacks=int(row.fallbacks),
        cached_calls=int(row.cached_calls),
        failed_calls=int(row.failed_calls),
    )


def _record(row: Any) -> UsageRecord:
    return UsageRecord(
        usage=Usage(
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            cost_usd=row.cost_usd,
            latency_s=row.latency_s,
            model=row.model,
            deployment=row.deployment,
            retries=row.retries,
            fallbacks=row.fallbacks,
            cached=bool(row.cached),
            failed_attempts=_ATTEMPTS.validate_json(row.failed_attempts)
            if row.failed_attempts
            else [],
        ),
        run_id=row.run_id or "",
        step_id=row.step_id or "",
        attempt=row.attempt,
        agent=row.agent,
        requested_model=row.requested_model,
        error=row.error,
        created_at=row.created_at,
    )


class SqlUsageStore:
    """Writes one row per model call; reads a run's calls and roll-ups."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def record_call(self, record: UsageRecord) -> None:
        """Commit ``record`` (its own transaction; returns after the commit)."""
        row = _row(record)
        await self.database.write(lambda conn: conn.execute(insert(model_calls), row))

    async def calls(self, run_id: str) -> list[UsageRecord]:
        """Every recorded call of the run, oldest first."""

        def read(conn: Connection) -> list[UsageRecord]:
            query = select(model_calls).where(_c.run_id == run_id).order_by(_c.id)
            return [_record(row) for row in conn.execute(query)]

        return await self.database.read(read)

    async def report(self, run_id: str, *, with_calls: bool = True) -> UsageReport:
        """The run's total and its roll-ups by step, agent, model and deployment.

        Groups come in order of their first call.
        """

        def read(conn: Connection) -> UsageReport:
            where = _c.run_id == run_id
            total = conn.execute(select(*_SUMS).where(where)).one()
            groups: dict[str, dict[str, UsageTotals]] = {}
            for name, key in _DIMENSIONS.items():
                query = (
                    select(key.label("key"), *_SUMS)
                    .where(where)
                    .group_by(key)
                    .order_by(func.min(_c.id))
                )
                groups[name] = {str(row.key): _totals(row) for row in conn.execute(query)}
            calls: list[UsageRecord] = []
            if with_calls:
                query = select(model_calls).where(where).order_by(_c.id)
                calls = [_record(row) for row in conn.execute(query)]
            return UsageReport(
                total=_totals(total),
                by_step=groups["step"],
                by_agent=groups["agent"],
                by_model=groups["model"],
                by_deployment=groups["deployment"],
                calls=calls,
            )

        return await self.database.read(read)
