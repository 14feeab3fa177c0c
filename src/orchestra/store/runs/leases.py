"""The run lease: who drives a run, and the run's own status.

One process at a time drives a run (its *owner*, holding a lease it renews by
heartbeat). Taking the lease is a conditional update: free, expired, already ours,
or held by an owner the caller knows is dead (``reclaim``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import select, update

from orchestra.engine.errors import IllegalTransition, RunNotFound
from orchestra.engine.ids import RunId
from orchestra.engine.protocols import (
    EventDraft,
    OpenedRun,
    RunOpening,
    RunRecord,
    RunSignals,
)
from orchestra.engine.states import RunStatus
from orchestra.store.group_commit import Operation, Tx, drafts_of, dumps
from orchestra.store.runs.approvals import decisions
from orchestra.store.runs.claims import claim_in
from orchestra.store.runs.records import RunRecords
from orchestra.store.runs.statements import CLAIM_RUN, HEARTBEAT_RUN, RELEASE_RUN, set_status
from orchestra.store.tables import runs


def _claim_run_row(tx: Tx, run_id: RunId, owner: str, lease_s: float, reclaim: str) -> int:
    """Take the run's lease if it is free, expired or ``reclaim``'s; rows updated (0 or 1)."""
    params = {
        "rid": run_id,
        "owner": owner,
        "now": tx.now,
        "reclaim": reclaim,
        "expires": tx.now + lease_s,
    }
    return CLAIM_RUN.run(tx.conn, params)


def claim(
    run_id: RunId, owner: str, lease_s: float, reclaim_from: Collection[str]
) -> Operation[bool]:
    owners = list(reclaim_from) or [""]

    def operation(tx: Tx) -> bool:
        for reclaim in owners:
            if _claim_run_row(tx, run_id, owner, lease_s, reclaim):
                return True
        exists = tx.conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first()
        if exists is None:
            raise RunNotFound(run_id)
        return False

    return operation


def open_run(
    records: RunRecords,
    run_id: RunId,
    owner: str,
    lease_s: float,
    owner_is_dead: Callable[[str], bool],
    opening: Callable[[RunRecord], RunOpening] | None,
) -> Operation[OpenedRun]:
    """Read the run and, unless it is finished or a live owner holds it, claim its
    lease and write its ``opening``, all in one transaction."""

    def operation(tx: Tx) -> OpenedRun:
        record = records.read_in(tx.conn, run_id)
        if record.status.terminal:
            return OpenedRun(record, False)
        plan = opening(record) if opening is not None else None  # may raise: no writes yet
        current = record.owner
        reclaim = current if current and owner_is_dead(current) else ""
        claimed = _claim_run_row(tx, run_id, owner, lease_s, reclaim)
        if not claimed or plan is None:
            return OpenedRun(record, claimed > 0)
        if plan.status is not None:
            # read under the write lock just now, so the transition is allowed
            set_status(plan.status, False).run(tx.conn, {"rid": run_id, "now": tx.now})
        tx.drafts.extend(drafts_of(run_id, plan.events))
        made = [
            claim
            for request in plan.claims
            if (
                claim := claim_in(
                    tx, run_id, request.step_id, owner, request.lease_s, ("",), request.content
                )
            )
            is not None
        ]
        return OpenedRun(record, True, made)

    return operation


def heartbeat(
    run_id: RunId, owner: str, lease_s: float, with_decisions: bool
) -> Operation[RunSignals]:
    """Renew the lease if still ours; say whether a cancel (or decisions) arrived."""

    def operation(tx: Tx) -> RunSignals:
        found = HEARTBEAT_RUN.rows(
            tx.conn, {"rid": run_id, "me": owner, "expires": tx.now + lease_s}
        )
        if not found:
            return RunSignals(owns_run=False, cancel_requested=False)
        cancel = found[0][0]
        decided = decisions(tx.conn, run_id) if with_decisions else {}
        return RunSignals(True, bool(cancel), decided)

    return operation


def release(run_id: RunId, owner: str) -> Operation[None]:
    def operation(tx: Tx) -> None:
        RELEASE_RUN.run(tx.conn, {"rid": run_id, "me": owner})

    return operation


def set_run_status(
    run_id: RunId,
    target: RunStatus,
    events: Iterable[EventDraft],
    error: Mapping[str, Any] | None,
) -> Operation[None]:
    """Move the run to ``target`` from an allowed source state, or raise
    :class:`IllegalTransition` (or :class:`RunNotFound`) and write nothing."""
    drafts = drafts_of(run_id, events)
    statement = set_status(target, error is not None)
    error_json = dumps(dict(error)) if error is not None else None

    def operation(tx: Tx) -> None:
        params: dict[str, Any] = {"rid": run_id, "now": tx.now}
        if error_json is not None:
            params["error"] = error_json
        if statement.run(tx.conn, params) == 0:
            current = tx.conn.execute(
                select(runs.c.status).where(runs.c.id == run_id)
            ).scalar_one_or_none()
            if current is None:
                raise RunNotFound(run_id)
            raise IllegalTransition("run", run_id, current, target.value)
        tx.drafts.extend(drafts)

    return operation


def request_cancel(run_id: RunId) -> Operation[None]:
    def operation(tx: Tx) -> None:
        result = tx.conn.execute(
            update(runs).where(runs.c.id == run_id).values(cancel_requested=True)
        )
        if result.rowcount == 0:
            raise RunNotFound(run_id)

    return operation
