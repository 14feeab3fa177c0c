"""Approvals: a step that needs a human asks once; the first decision wins.

The decision is a conditional update (``decision IS NULL``), so two reviewers racing
cannot both decide; the loser gets :class:`ApprovalError` naming what to look at.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from orchestra.engine.errors import ApprovalError
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.protocols import ApprovalRecord, Decision
from orchestra.store.group_commit import Operation, Tx
from orchestra.store.runs.rows import approval
from orchestra.store.runs.statements import APPROVAL_COLUMNS
from orchestra.store.tables import approvals


def _read(conn: Connection, run_id: RunId, step_id: StepId) -> ApprovalRecord | None:
    row = conn.execute(
        select(*APPROVAL_COLUMNS).where(
            approvals.c.run_id == run_id, approvals.c.step_id == step_id
        )
    ).first()
    return None if row is None else approval(row)


def decisions(conn: Connection, run_id: RunId) -> dict[StepId, ApprovalRecord]:
    """The run's decided approvals, by step (the heartbeat brings them to the driver)."""
    rows = conn.execute(
        select(*APPROVAL_COLUMNS).where(
            approvals.c.run_id == run_id, approvals.c.decision.is_not(None)
        )
    )
    return {StepId(row[0]): approval(row) for row in rows}


def request(run_id: RunId, step_id: StepId) -> Operation[ApprovalRecord]:
    """Ask for an approval (once: asking again returns the first request, or its decision)."""

    def operation(tx: Tx) -> ApprovalRecord:
        existing = _read(tx.conn, run_id, step_id)
        if existing is not None:
            return existing
        tx.conn.execute(
            insert(approvals).values(run_id=run_id, step_id=step_id, requested_at=tx.now)
        )
        tx.event(
            run_id,
            step_id,
            EventType.APPROVAL_REQUESTED,
            {"hint": f"orchestra runs approve {run_id} {step_id} --by NAME --reason TEXT"},
        )
        return ApprovalRecord(step_id, tx.now)

    return operation


def decide(
    run_id: RunId, step_id: StepId, decision: Decision, by: str, reason: str
) -> Operation[ApprovalRecord]:
    def operation(tx: Tx) -> ApprovalRecord:
        result = tx.conn.execute(
            update(approvals)
            .where(
                approvals.c.run_id == run_id,
                approvals.c.step_id == step_id,
                approvals.c.decision.is_(None),
            )
            .values(decision=decision, decided_by=by, reason=reason, decided_at=tx.now)
        )
        if result.rowcount == 0:
            raise ApprovalError(
                f"step {step_id!r} of run {run_id} is not waiting for approval (not "
                f"requested yet, or already decided); see `orchestra runs show {run_id}`"
            )
        tx.event(
            run_id,
            step_id,
            EventType.LOG,
            {
                "message": f"{decision} by {by}" + (f": {reason}" if reason else ""),
                "approval": decision,
                "by": by,
                "reason": reason,
            },
        )
        decided = _read(tx.conn, run_id, step_id)
        assert decided is not None  # updated just now, in this transaction
        return decided

    return operation
