"""The run store's SQL: the columns it reads, the hot-path statements (prepared once,
see :mod:`orchestra.store.prepared`) and the conditional updates.

The ``WHERE`` clauses are the guarantees: a step is claimed only when pending or
under an expired (or dead owner's) lease, a finish or renewal only with the current
fence, a run status only from its allowed sources. Racing processes therefore cannot
break the state machines, whatever the caller believes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update

from orchestra.engine.states import RunStatus, StepStatus, run_sources
from orchestra.store.prepared import Prepared
from orchestra.store.tables import approvals, events, runs, step_attempts, steps

STEP_COLUMNS = (
    steps.c.step_id,
    steps.c.status,
    steps.c.attempt,
    steps.c.fence,
    steps.c.lease_owner,
    steps.c.lease_expires_at,
    steps.c.outputs_json,
    steps.c.usage_json,
    steps.c.error_json,
    steps.c.started_at,
    steps.c.finished_at,
)
RUN_COLUMNS = (
    runs.c.status,
    runs.c.created_at,
    runs.c.updated_at,
    runs.c.finished_at,
    runs.c.owner,
    runs.c.lease_expires_at,
    runs.c.cancel_requested,
    # Not runs.last_seq: on SQLite the stored events are the counter (group_commit.py).
    select(func.coalesce(func.max(events.c.seq), 0))
    .where(events.c.run_id == runs.c.id)
    .scalar_subquery(),
    runs.c.error_json,
    runs.c.source_hash,
    runs.c.inputs_json,
)
APPROVAL_COLUMNS = (
    approvals.c.step_id,
    approvals.c.requested_at,
    approvals.c.decision,
    approvals.c.decided_by,
    approvals.c.reason,
    approvals.c.decided_at,
)
READ_RUN = Prepared(select(*RUN_COLUMNS).where(runs.c.id == bindparam("rid")))
READ_SPEC = Prepared(select(runs.c.spec_json).where(runs.c.id == bindparam("rid")))
READ_STEPS = Prepared(select(*STEP_COLUMNS).where(steps.c.run_id == bindparam("rid")))
READ_APPROVALS = Prepared(select(*APPROVAL_COLUMNS).where(approvals.c.run_id == bindparam("rid")))

RUNNING = StepStatus.RUNNING.value
SUCCEEDED = StepStatus.SUCCEEDED.value
_THIS_STEP = (steps.c.run_id == bindparam("rid"), steps.c.step_id == bindparam("sid"))
_THIS_ATTEMPT = (
    step_attempts.c.run_id == bindparam("rid"),
    step_attempts.c.step_id == bindparam("sid"),
)
STEP_STATUS = Prepared(select(steps.c.status).where(*_THIS_STEP))
CLAIM = Prepared(
    update(steps)
    .where(
        *_THIS_STEP,
        or_(
            steps.c.status == StepStatus.PENDING.value,
            and_(
                steps.c.status == RUNNING,
                or_(
                    steps.c.lease_expires_at < bindparam("now"),
                    steps.c.lease_owner == bindparam("reclaim"),
                ),
            ),
        ),
    )
    .values(
        status=RUNNING,
        attempt=steps.c.attempt + 1,
        fence=steps.c.fence + 1,
        lease_owner=bindparam("owner"),
        lease_expires_at=bindparam("expires"),
        started_at=bindparam("now"),
        finished_at=None,
    )
    .returning(steps.c.attempt, steps.c.fence)
)
INTERRUPT = Prepared(
    update(step_attempts)
    .where(
        *_THIS_ATTEMPT,
        or_(
            step_attempts.c.status == RUNNING,
            # released by a detach: already marked, still reported as interrupted
            and_(
                step_attempts.c.status == "interrupted",
                step_attempts.c.attempt == bindparam("previous"),
            ),
        ),
    )
    .values(
        status="interrupted",
        finished_at=func.coalesce(step_attempts.c.finished_at, bindparam("now")),
    )
)
INSERT_ATTEMPT = Prepared(insert(step_attempts))
RENEW = Prepared(
    update(steps)
    .where(*_THIS_STEP, steps.c.fence == bindparam("fence"), steps.c.status == RUNNING)
    .values(lease_expires_at=bindparam("expires"))
)
FINISH = Prepared(
    update(steps)
    .where(*_THIS_STEP, steps.c.fence == bindparam("fence"), steps.c.status == RUNNING)
    .values(
        status=bindparam("status"),
        lease_owner=None,
        lease_expires_at=None,
        usage_json=bindparam("usage"),
        error_json=bindparam("error"),
        outputs_json=func.coalesce(bindparam("outputs"), steps.c.outputs_json),
        finished_at=bindparam("finished"),
    )
)
FINISH_ATTEMPT = Prepared(
    update(step_attempts)
    .where(*_THIS_ATTEMPT, step_attempts.c.attempt == bindparam("attempt"))
    .values(
        status=bindparam("status"),
        finished_at=bindparam("now"),
        usage_json=bindparam("usage"),
        error_json=bindparam("error"),
    )
)

CLAIM_RUN = Prepared(
    update(runs)
    .where(
        runs.c.id == bindparam("rid"),
        or_(
            runs.c.owner.is_(None),
            runs.c.owner == bindparam("owner"),
            runs.c.lease_expires_at < bindparam("now"),
            runs.c.owner == bindparam("reclaim"),
        ),
    )
    .values(owner=bindparam("owner"), lease_expires_at=bindparam("expires"))
)
HEARTBEAT_RUN = Prepared(
    update(runs)
    .where(runs.c.id == bindparam("rid"), runs.c.owner == bindparam("me"))
    .values(lease_expires_at=bindparam("expires"))
    .returning(runs.c.cancel_requested)
)
"""Renew a run's lease if ``me`` still holds it; returns its cancel flag (no row: lost)."""
RELEASE_RUN = Prepared(
    update(runs)
    # "me", not "owner": values(owner=None) already binds a parameter named "owner"
    .where(runs.c.id == bindparam("rid"), runs.c.owner == bindparam("me"))
    .values(owner=None, lease_expires_at=None)
)
_SET_STATUS: dict[tuple[RunStatus, bool], Prepared] = {}


def set_status(target: RunStatus, with_error: bool) -> Prepared:
    """The conditional status update for ``target``: only from its allowed sources."""
    key = (target, with_error)
    statement = _SET_STATUS.get(key)
    if statement is None:
        values: dict[str, Any] = {"status": target.value, "updated_at": bindparam("now")}
        if target.terminal:
            values["finished_at"] = bindparam("now")
        if with_error:
            values["error_json"] = bindparam("error")
        sources = [runs.c.status == source.value for source in run_sources(target)]
        statement = _SET_STATUS[key] = Prepared(
            update(runs).where(runs.c.id == bindparam("rid"), or_(*sources)).values(**values)
        )
    return statement
