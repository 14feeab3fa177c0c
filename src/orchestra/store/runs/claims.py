"""Step claims: an attempt of a step is claimed, renewed, finished, settled or detached.

Each claim bumps the step's *fence*; renewing or finishing needs the current fence,
so a worker whose lease was taken over can no longer write (:class:`LeaseLost`).
Every attempt is also a ``step_attempts`` row, so interrupted attempts stay visible.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from orchestra.engine.errors import LeaseLost
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.protocols import Claim, ClaimRequest, EventDraft, LeaseState, UsageTotals
from orchestra.engine.states import StepStatus, step_sources
from orchestra.store.group_commit import Operation, Tx, drafts_of, dumps
from orchestra.store.runs.records import CACHE_LIMIT
from orchestra.store.runs.rows import loads
from orchestra.store.runs.statements import (
    CLAIM,
    FINISH,
    FINISH_ATTEMPT,
    INSERT_ATTEMPT,
    INTERRUPT,
    RENEW,
    RUNNING,
    STEP_STATUS,
    SUCCEEDED,
)
from orchestra.store.tables import runs, step_attempts, steps


def claim_in(
    tx: Tx,
    run_id: RunId,
    step_id: StepId,
    owner: str,
    lease_s: float,
    owners: Collection[str],
    extra: Mapping[str, Any],
) -> Claim | None:
    """Claim ``step_id`` in ``tx`` (pending, or running under an expired lease or one of
    ``owners``): bump attempt and fence, record the attempt and ``step_started``."""
    expires = tx.now + lease_s
    found: list[Any] = []
    for reclaim in owners:
        found = CLAIM.rows(
            tx.conn,
            {
                "rid": run_id,
                "sid": step_id,
                "now": tx.now,
                "reclaim": reclaim,
                "owner": owner,
                "expires": expires,
            },
        )
        if found:
            break
    if not found:
        return None
    attempt, fence = found[0]
    content = {"attempt": attempt, **extra}
    if attempt > 1 and INTERRUPT.run(
        tx.conn, {"rid": run_id, "sid": step_id, "now": tx.now, "previous": attempt - 1}
    ):
        content["interrupted_attempt"] = attempt - 1
    INSERT_ATTEMPT.many(
        tx.conn,
        [
            {
                "run_id": run_id,
                "step_id": step_id,
                "attempt": attempt,
                "fence": fence,
                "owner": owner,
                "status": RUNNING,
                "started_at": tx.now,
                "finished_at": None,
                "usage_json": None,
                "error_json": None,
                "worker": extra.get("worker"),
            }
        ],
    )
    tx.event(run_id, step_id, EventType.STEP_STARTED, content)
    return Claim(run_id, step_id, attempt, fence, owner, expires)


def _unsucceeded(tx: Tx, run_id: RunId, requests: Sequence[ClaimRequest]) -> set[str]:
    """Which of the requests' other dependencies have not succeeded (yet) in ``tx``."""
    unmet: set[str] = set()
    for request in requests:
        if request.requires:
            break
    else:  # nothing to check: the common case (a chain), without building the set below
        return unmet
    for sid in {sid for request in requests for sid in request.requires}:
        rows = STEP_STATUS.rows(tx.conn, {"rid": run_id, "sid": sid})
        if not rows or rows[0][0] != SUCCEEDED:
            unmet.add(sid)
    return unmet


def lease_lost(claim: Claim) -> str:
    return (
        f"step {claim.step_id!r} of run {claim.run_id}: attempt {claim.attempt} no longer holds "
        f"the lease (fence {claim.fence} is stale); another worker took the step over"
    )


def claim_step(
    run_id: RunId,
    step_id: StepId,
    owner: str,
    lease_s: float,
    reclaim_from: Collection[str],
    content: Mapping[str, Any] | None,
) -> Operation[Claim | None]:
    extra = dict(content or {})
    owners = list(reclaim_from) or [""]

    def operation(tx: Tx) -> Claim | None:
        return claim_in(tx, run_id, step_id, owner, lease_s, owners, extra)

    return operation


def renew(claim: Claim, lease_s: float) -> Operation[LeaseState]:
    """Extend the lease if ``claim`` still holds it; report a requested cancel too, so a
    step running in another process learns of it."""

    def operation(tx: Tx) -> LeaseState:
        params = {"rid": claim.run_id, "sid": claim.step_id, "fence": claim.fence}
        held = RENEW.run(tx.conn, {**params, "expires": tx.now + lease_s}) > 0
        cancel = select(runs.c.cancel_requested).where(runs.c.id == claim.run_id)
        return LeaseState(held, bool(tx.conn.execute(cancel).scalar()))

    return operation


def finish(
    claim: Claim,
    target: StepStatus,
    *,
    outputs: Mapping[str, str] | None,
    usage: UsageTotals | None,
    error: Mapping[str, Any] | None,
    events: Iterable[EventDraft],
    claim_next: Sequence[ClaimRequest],
) -> Operation[list[Claim]]:
    """End an attempt (see ``SqlRunStore.finish_step``); the claims made are returned."""
    drafts = drafts_of(claim.run_id, events)
    attempt_usage = usage or UsageTotals()
    attempt_json = dumps(attempt_usage.to_json())
    error_json = dumps(dict(error)) if error is not None else None
    outputs_json = dumps(dict(outputs)) if outputs is not None else None
    attempt_status = "failed" if target is StepStatus.PENDING else target.value
    following = claim_next if target is StepStatus.SUCCEEDED else ()

    def operation(tx: Tx) -> list[Claim]:
        total = attempt_usage
        if claim.attempt > 1:
            previous = tx.conn.execute(
                select(steps.c.usage_json).where(
                    steps.c.run_id == claim.run_id,
                    steps.c.step_id == claim.step_id,
                    steps.c.fence == claim.fence,
                    steps.c.status == RUNNING,
                )
            ).first()
            if previous is None:
                raise LeaseLost(lease_lost(claim))
            total = total + UsageTotals.from_json(loads(previous[0]))
        changed = FINISH.run(
            tx.conn,
            {
                "rid": claim.run_id,
                "sid": claim.step_id,
                "fence": claim.fence,
                "status": target.value,
                "usage": attempt_json if total is attempt_usage else dumps(total.to_json()),
                "error": error_json,
                "outputs": outputs_json,
                "finished": tx.now if target.terminal else None,
            },
        )
        if changed == 0:
            raise LeaseLost(lease_lost(claim))
        FINISH_ATTEMPT.run(
            tx.conn,
            {
                "rid": claim.run_id,
                "sid": claim.step_id,
                "attempt": claim.attempt,
                "status": attempt_status,
                "now": tx.now,
                "usage": attempt_json,
                "error": error_json,
            },
        )
        tx.drafts.extend(drafts)
        made: list[Claim] = []
        unmet = _unsucceeded(tx, claim.run_id, following)
        for request in following:
            if unmet.intersection(request.requires):
                continue  # a sibling did not succeed: the driver schedules it later
            next_claim = claim_in(
                tx,
                claim.run_id,
                request.step_id,
                claim.owner,
                request.lease_s,
                ("",),
                request.content,
            )
            if next_claim is not None:
                made.append(next_claim)
        return made

    return operation


def _interrupt_attempts(tx: Tx, run_id: RunId, step_ids: Sequence[str]) -> None:
    """The running attempts of ``step_ids`` end as ``interrupted`` (their worker let go)."""
    tx.conn.execute(
        update(step_attempts)
        .where(
            step_attempts.c.run_id == run_id,
            step_attempts.c.step_id.in_(step_ids),
            step_attempts.c.status == RUNNING,
        )
        .values(status="interrupted", finished_at=tx.now)
    )


def settle(
    run_id: RunId,
    step_ids: Collection[StepId],
    target: StepStatus,
    events: Iterable[EventDraft],
    error: Mapping[str, Any] | None,
) -> Operation[None]:
    """Move steps that are not running under a live claim straight to ``target``."""
    drafts = drafts_of(run_id, events)
    extra = {"error_json": dumps(dict(error))} if error is not None else {}
    sources = [status.value for status in step_sources(target)]
    ids = list(step_ids)

    def operation(tx: Tx) -> None:
        changed: set[str] = set()
        if ids:
            changed = set(
                tx.conn.execute(
                    update(steps)
                    .where(
                        steps.c.run_id == run_id,
                        steps.c.step_id.in_(ids),
                        steps.c.status.in_(sources),
                    )
                    .values(
                        status=target.value,
                        finished_at=tx.now,
                        lease_owner=None,
                        lease_expires_at=None,
                        **extra,
                    )
                    .returning(steps.c.step_id)
                ).scalars()
            )
            _interrupt_attempts(tx, run_id, ids)
        # events only for steps this call really moved (others were already settled)
        tx.drafts.extend(d for d in drafts if d[1] is None or d[1] in changed)

    return operation


def detach(run_id: RunId, owner: str, events: Iterable[EventDraft]) -> Operation[list[StepId]]:
    """Give up every step ``owner`` holds (see ``SqlRunStore.detach_steps``)."""
    drafts = drafts_of(run_id, events)

    def operation(tx: Tx) -> list[StepId]:
        held = list(
            tx.conn.execute(
                update(steps)
                .where(
                    steps.c.run_id == run_id,
                    steps.c.status == RUNNING,
                    steps.c.lease_owner == owner,
                )
                .values(lease_owner=None, lease_expires_at=0.0)
                .returning(steps.c.step_id)
            ).scalars()
        )
        if held:
            _interrupt_attempts(tx, run_id, held)
        tx.drafts.extend(drafts)
        return [StepId(sid) for sid in sorted(held)]

    return operation


class StepOutputs:
    """Outputs of steps this store committed as succeeded (immutable from then on), so a
    step's inputs need no query when the same process ran its upstream."""

    def __init__(self) -> None:
        self._known: OrderedDict[RunId, dict[StepId, Mapping[str, str]]] = OrderedDict()

    def remember(self, run_id: RunId, step_id: StepId, outputs: Mapping[str, str]) -> None:
        known = self._known.get(run_id)
        if known is None:
            known = self._known[run_id] = {}
            if len(self._known) > CACHE_LIMIT:
                self._known.popitem(last=False)
        known[step_id] = dict(outputs)

    def forget(self, run_id: RunId) -> None:
        self._known.pop(run_id, None)

    def known(
        self, run_id: RunId, step_ids: Sequence[StepId]
    ) -> dict[StepId, Mapping[str, str]] | None:
        """All of ``step_ids``' outputs, or None unless every one is known."""
        known = self._known.get(run_id)
        if known is not None and all(sid in known for sid in step_ids):
            return {sid: known[sid] for sid in step_ids}
        return None


def read_outputs(
    conn: Connection, run_id: RunId, step_ids: Sequence[StepId]
) -> dict[StepId, Mapping[str, str]]:
    """The outputs of those of ``step_ids`` that succeeded."""
    rows = conn.execute(
        select(steps.c.step_id, steps.c.outputs_json).where(
            steps.c.run_id == run_id,
            steps.c.step_id.in_(step_ids),
            steps.c.status == StepStatus.SUCCEEDED.value,
        )
    )
    return {StepId(row.step_id): loads(row.outputs_json) or {} for row in rows}
