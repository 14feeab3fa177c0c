"""The state of one run in :class:`~orchestra.engine.testing.MemoryRunStore`, and the rules
its writes follow: the run lease, run transitions, step claims (attempt and fence bumps,
interrupted attempts) and contiguous event sequence numbers.

Apart from the store's methods so each rule reads on its own, as the SQL store's
statements do; none of these functions awaits, so each write stays atomic.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from orchestra.engine.errors import IllegalTransition
from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.protocols import (
    ApprovalRecord,
    Claim,
    EventDraft,
    RunDefinition,
    RunRecord,
    StepRecord,
)
from orchestra.engine.states import RunStatus, StepStatus, run_sources


def copy_json(value: Any) -> Any:
    """What a database would give back: JSON in, JSON out."""
    return None if value is None else json.loads(json.dumps(value))


@dataclass(slots=True)
class AttemptRow:
    """One attempt of a step, as ``list_attempts`` returns them (the SQL store's columns)."""

    run_id: RunId
    step_id: StepId
    attempt: int
    fence: int
    owner: str
    status: str
    started_at: float
    finished_at: float | None = None
    usage_json: str | None = None
    error_json: str | None = None


@dataclass(slots=True)
class MemoryRun:
    definition: RunDefinition
    status: RunStatus
    steps: dict[StepId, StepRecord]
    created_at: float
    updated_at: float
    finished_at: float | None = None
    owner: str | None = None
    lease_expires_at: float | None = None
    cancel_requested: bool = False
    error: Mapping[str, Any] | None = None
    approvals: dict[StepId, ApprovalRecord] = field(default_factory=dict)
    events: list[ExecutionEvent] = field(default_factory=list)
    attempts: list[AttemptRow] = field(default_factory=list)


def append(run: MemoryRun, drafts: Iterable[EventDraft], now: float) -> list[ExecutionEvent]:
    made: list[ExecutionEvent] = []
    for type, step_id, content in drafts:
        seq = len(run.events) + 1
        event = ExecutionEvent(
            EventType(type), now, run.definition.run_id, step_id, seq, copy_json(content)
        )
        run.events.append(event)
        made.append(event)
    return made


def snapshot(run: MemoryRun) -> RunRecord:
    return RunRecord(
        definition=run.definition,
        status=run.status,
        steps=dict(run.steps),
        approvals=dict(run.approvals),
        created_at=run.created_at,
        updated_at=run.updated_at,
        finished_at=run.finished_at,
        owner=run.owner,
        lease_expires_at=run.lease_expires_at,
        cancel_requested=run.cancel_requested,
        last_seq=len(run.events),
        error=copy_json(run.error),
    )


def take_run(run: MemoryRun, owner: str, lease_s: float, reclaim: str, now: float) -> bool:
    expired = run.lease_expires_at is not None and run.lease_expires_at < now
    if run.owner is None or run.owner == owner or expired or run.owner == reclaim:
        run.owner = owner
        run.lease_expires_at = now + lease_s
        return True
    return False


def move_run(
    run: MemoryRun, target: RunStatus, error: Mapping[str, Any] | None, now: float
) -> None:
    if run.status not in run_sources(target):
        raise IllegalTransition("run", run.definition.run_id, run.status.value, target.value)
    run.status = target
    run.updated_at = now
    if target.terminal:
        run.finished_at = now
    if error is not None:
        run.error = copy_json(dict(error))


def claim_in(
    run: MemoryRun,
    step_id: StepId,
    owner: str,
    lease_s: float,
    owners: Collection[str],
    now: float,
) -> tuple[Claim, Callable[[Mapping[str, Any] | None], EventDraft]] | None:
    """Claim ``step_id`` (pending, or running under an expired lease or one of
    ``owners``); the claim and a maker of its ``step_started`` event."""
    step = run.steps.get(step_id)
    if step is None:
        return None
    free = step.status is StepStatus.PENDING or (
        step.status is StepStatus.RUNNING
        and (
            (step.lease_expires_at is not None and step.lease_expires_at < now)
            or any(step.lease_owner == o for o in owners)
        )
    )
    if not free:
        return None
    attempt, fence = step.attempt + 1, step.fence + 1
    run.steps[step_id] = replace(
        step,
        status=StepStatus.RUNNING,
        attempt=attempt,
        fence=fence,
        lease_owner=owner,
        lease_expires_at=now + lease_s,
        started_at=now,
        finished_at=None,
    )
    interrupted = False
    if attempt > 1:
        for row in run.attempts:
            if row.step_id == step_id and (
                row.status == "running"
                or (row.status == "interrupted" and row.attempt == attempt - 1)
            ):
                row.status = "interrupted"
                row.finished_at = row.finished_at if row.finished_at is not None else now
                interrupted = True
    run.attempts.append(
        AttemptRow(run.definition.run_id, step_id, attempt, fence, owner, "running", now)
    )
    claim = Claim(run.definition.run_id, step_id, attempt, fence, owner, now + lease_s)

    def started(extra: Mapping[str, Any] | None) -> EventDraft:
        content: dict[str, Any] = {"attempt": attempt, **(extra or {})}
        if interrupted:
            content["interrupted_attempt"] = attempt - 1
        return (EventType.STEP_STARTED, step_id, content)

    return claim, started


__all__ = [
    "AttemptRow",
    "MemoryRun",
    "append",
    "claim_in",
    "copy_json",
    "move_run",
    "snapshot",
    "take_run",
]
