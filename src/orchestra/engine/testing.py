"""An in-memory :class:`~orchestra.engine.protocols.RunStore`, for tests and embedders.

It keeps the contract the SQL store keeps, so the engine's tests run on it as
well as on SQLite and PostgreSQL (tests/engine/conftest.py):

* every write is atomic (no ``await`` inside it) and its events get the next
  contiguous ``seq`` of their run, then go to the sinks after the write;
* a step claim bumps the attempt and the fence, and is taken only from
  ``pending`` or from ``running`` under an expired lease or a reclaimable owner;
  ``renew_step`` and ``finish_step`` are refused under a stale fence;
* run and step transitions follow :mod:`orchestra.engine.states`;
* stored values are copies through JSON, as a database stores them.

Nothing survives the process: use SQLite for anything durable.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any

from orchestra.definitions.specs import WorkflowSpec
from orchestra.engine.errors import ApprovalError, LeaseLost, RunNotFound
from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.ids import RunId, StepId, new_run_id
from orchestra.engine.memory_state import (
    AttemptRow,
    MemoryRun,
    append,
    claim_in,
    copy_json,
    move_run,
    snapshot,
    take_run,
)
from orchestra.engine.protocols import (
    ApprovalRecord,
    Claim,
    ClaimRequest,
    Decision,
    EventDraft,
    EventSink,
    LeaseState,
    OpenedRun,
    RunDefinition,
    RunOpening,
    RunRecord,
    RunSignals,
    StepRecord,
)
from orchestra.engine.states import RunStatus, StepStatus, step_sources
from orchestra.usage import UsageTotals


class MemoryRunStore:
    """Runs, steps, attempts, events and approvals in dictionaries. ``async with`` like
    the SQL store (it holds nothing to open or close)."""

    def __init__(self, sink: EventSink | None = None) -> None:
        self._sinks: list[EventSink] = [sink] if sink is not None else []
        self._runs: dict[RunId, MemoryRun] = {}

    def add_sink(self, sink: EventSink) -> None:
        self._sinks.append(sink)

    async def __aenter__(self) -> MemoryRunStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    # ------------------------------------------------------------ plumbing

    def _run(self, run_id: RunId) -> MemoryRun:
        run = self._runs.get(run_id)
        if run is None:
            raise RunNotFound(run_id)
        return run

    def _publish(self, events: list[ExecutionEvent]) -> None:
        if events:
            for sink in self._sinks:
                sink.publish(events)

    @staticmethod
    async def _turn() -> float:
        """Let other tasks run, as a round trip to a database does; the write's time."""
        await asyncio.sleep(0)
        return time.time()

    # ---------------------------------------------------------------- runs

    async def create_run(
        self, spec: WorkflowSpec, inputs: Mapping[str, str], run_id: RunId | None = None
    ) -> RunId:
        now = await self._turn()
        new_id = run_id or new_run_id()
        definition = RunDefinition(new_id, spec, spec.source_hash, copy_json(dict(inputs)))
        steps = {StepId(s.id): StepRecord(StepId(s.id), StepStatus.PENDING) for s in spec.steps}
        self._runs[new_id] = MemoryRun(definition, RunStatus.QUEUED, steps, now, now)
        return new_id

    async def get_run(self, run_id: RunId) -> RunRecord:
        await self._turn()
        return snapshot(self._run(run_id))

    async def get_definition(self, run_id: RunId) -> RunDefinition:
        await self._turn()
        return self._run(run_id).definition

    async def list_attempts(self, run_id: RunId) -> list[AttemptRow]:
        await self._turn()
        return sorted((replace(a) for a in self._run(run_id).attempts), key=lambda a: a.started_at)

    async def read_outputs(
        self, run_id: RunId, step_ids: Collection[StepId]
    ) -> dict[StepId, Mapping[str, str]]:
        await self._turn()
        run = self._run(run_id)
        return {
            sid: dict(run.steps[sid].outputs)
            for sid in step_ids
            if sid in run.steps and run.steps[sid].status is StepStatus.SUCCEEDED
        }

    async def read_events(
        self, run_id: RunId, after_seq: int = 0, limit: int | None = None
    ) -> list[ExecutionEvent]:
        await self._turn()
        run = self._runs.get(run_id)
        found = [e for e in run.events if e.seq > after_seq] if run is not None else []
        return found[:limit] if limit is not None else found

    async def claim_run(
        self, run_id: RunId, owner: str, lease_s: float, reclaim_from: Collection[str] = ()
    ) -> bool:
        now = await self._turn()
        run = self._run(run_id)
        return any(take_run(run, owner, lease_s, r, now) for r in list(reclaim_from) or [""])

    async def open_run(
        self,
        run_id: RunId,
        owner: str,
        lease_s: float,
        *,
        owner_is_dead: Callable[[str], bool],
        opening: Callable[[RunRecord], RunOpening] | None = None,
    ) -> OpenedRun:
        now = await self._turn()
        run = self._run(run_id)
        record = snapshot(run)
        if record.status.terminal:
            return OpenedRun(record, False)
        plan = opening(record) if opening is not None else None  # may raise: no writes yet
        current = run.owner
        reclaim = current if current and owner_is_dead(current) else ""
        claimed = take_run(run, owner, lease_s, reclaim, now)
        if not claimed or plan is None:
            return OpenedRun(record, claimed)
        published: list[ExecutionEvent] = []
        if plan.status is not None:
            move_run(run, plan.status, None, now)
        published += append(run, plan.events, now)
        made: list[Claim] = []
        for request in plan.claims:
            claim = claim_in(run, request.step_id, owner, request.lease_s, ("",), now)
            if claim is not None:
                made.append(claim[0])
                published += append(run, [claim[1](request.content)], now)
        self._publish(published)
        return OpenedRun(record, True, made)

    async def heartbeat_run(
        self, run_id: RunId, owner: str, lease_s: float, *, with_decisions: bool = False
    ) -> RunSignals:
        now = await self._turn()
        run = self._runs.get(run_id)
        if run is None or run.owner != owner:
            return RunSignals(owns_run=False, cancel_requested=False)
        run.lease_expires_at = now + lease_s
        decisions = (
            {sid: a for sid, a in run.approvals.items() if a.decision is not None}
            if with_decisions
            else {}
        )
        return RunSignals(True, run.cancel_requested, decisions)

    async def release_run(self, run_id: RunId, owner: str) -> None:
        await self._turn()
        run = self._runs.get(run_id)
        if run is not None and run.owner == owner:
            run.owner = None
            run.lease_expires_at = None

    async def set_run_status(
        self,
        run_id: RunId,
        target: RunStatus,
        events: Iterable[EventDraft] = (),
        *,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        now = await self._turn()
        run = self._run(run_id)
        move_run(run, target, error, now)
        self._publish(append(run, events, now))

    async def request_cancel(self, run_id: RunId) -> None:
        await self._turn()
        self._run(run_id).cancel_requested = True

    # --------------------------------------------------------------- steps

    async def claim_step(
        self,
        run_id: RunId,
        step_id: StepId,
        owner: str,
        lease_s: float,
        reclaim_from: Collection[str] = (),
        content: Mapping[str, Any] | None = None,
    ) -> Claim | None:
        now = await self._turn()
        run = self._run(run_id)
        made = claim_in(run, step_id, owner, lease_s, list(reclaim_from) or [""], now)
        if made is None:
            return None
        self._publish(append(run, [made[1](content)], now))
        return made[0]

    def _held(self, claim: Claim) -> tuple[MemoryRun, StepRecord] | None:
        run = self._runs.get(claim.run_id)
        step = run.steps.get(claim.step_id) if run is not None else None
        if run is None or step is None:
            return None
        if step.fence != claim.fence or step.status is not StepStatus.RUNNING:
            return None
        return run, step

    async def renew_step(self, claim: Claim, lease_s: float) -> LeaseState:
        now = await self._turn()
        held = self._held(claim)
        run = self._runs.get(claim.run_id)
        cancel = run.cancel_requested if run is not None else False
        if held is None:
            return LeaseState(False, cancel)
        held[0].steps[claim.step_id] = replace(held[1], lease_expires_at=now + lease_s)
        return LeaseState(True, cancel)

    async def finish_step(
        self,
        claim: Claim,
        target: StepStatus,
        *,
        outputs: Mapping[str, str] | None = None,
        usage: UsageTotals | None = None,
        error: Mapping[str, Any] | None = None,
        events: Iterable[EventDraft] = (),
        claim_next: Sequence[ClaimRequest] = (),
    ) -> list[Claim]:
        now = await self._turn()
        held = self._held(claim)
        if held is None:
            raise LeaseLost(
                f"step {claim.step_id!r} of run {claim.run_id}: attempt {claim.attempt} no "
                f"longer holds the lease (fence {claim.fence} is stale)"
            )
        run, step = held
        spent = UsageTotals.from_json((usage or UsageTotals()).to_json())
        total = spent + step.usage if claim.attempt > 1 else spent
        run.steps[claim.step_id] = replace(
            step,
            status=target,
            lease_owner=None,
            lease_expires_at=None,
            usage=total,
            error=copy_json(dict(error)) if error is not None else None,
            outputs=copy_json(dict(outputs)) if outputs is not None else step.outputs,
            finished_at=now if target.terminal else None,
        )
        for row in run.attempts:
            if row.step_id == claim.step_id and row.attempt == claim.attempt:
                row.status = "failed" if target is StepStatus.PENDING else target.value
                row.finished_at = now
                row.usage_json = json.dumps(spent.to_json())
                row.error_json = json.dumps(dict(error)) if error is not None else None
        published = append(run, events, now)
        made: list[Claim] = []
        if target is StepStatus.SUCCEEDED:
            for request in claim_next:
                if any(
                    run.steps[StepId(other)].status is not StepStatus.SUCCEEDED
                    for other in request.requires
                ):
                    continue  # a sibling did not succeed: the driver schedules it later
                next_claim = claim_in(
                    run, request.step_id, claim.owner, request.lease_s, ("",), now
                )
                if next_claim is not None:
                    made.append(next_claim[0])
                    published += append(run, [next_claim[1](request.content)], now)
        self._publish(published)
        return made

    async def settle_steps(
        self,
        run_id: RunId,
        step_ids: Collection[StepId],
        target: StepStatus,
        events: Iterable[EventDraft] = (),
        *,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        now = await self._turn()
        run = self._run(run_id)
        sources = step_sources(target)
        moved: set[StepId] = set()
        for sid in step_ids:
            step = run.steps.get(sid)
            if step is None or step.status not in sources:
                continue
            run.steps[sid] = replace(
                step,
                status=target,
                finished_at=now,
                lease_owner=None,
                lease_expires_at=None,
                error=copy_json(dict(error)) if error is not None else step.error,
            )
            moved.add(sid)
            for row in run.attempts:
                if row.step_id == sid and row.status == "running":
                    row.status = "interrupted"
                    row.finished_at = now
        # events only for steps this call really moved (others were already settled)
        drafts = [d for d in events if d[1] is None or d[1] in moved]
        self._publish(append(run, drafts, now))

    async def detach_steps(
        self, run_id: RunId, owner: str, events: Iterable[EventDraft] = ()
    ) -> list[StepId]:
        now = await self._turn()
        run = self._run(run_id)
        held = sorted(
            sid
            for sid, step in run.steps.items()
            if step.status is StepStatus.RUNNING and step.lease_owner == owner
        )
        for sid in held:
            run.steps[sid] = replace(run.steps[sid], lease_owner=None, lease_expires_at=0.0)
            for row in run.attempts:
                if row.step_id == sid and row.status == "running":
                    row.status = "interrupted"
                    row.finished_at = now
        self._publish(append(run, events, now))
        return [StepId(sid) for sid in held]

    # ----------------------------------------------------------- approvals

    async def request_approval(self, run_id: RunId, step_id: StepId) -> ApprovalRecord:
        now = await self._turn()
        run = self._run(run_id)
        known = run.approvals.get(step_id)
        if known is not None:
            return known
        record = run.approvals[step_id] = ApprovalRecord(step_id, now)
        hint = f"orchestra runs approve {run_id} {step_id} --by NAME --reason TEXT"
        self._publish(append(run, [(EventType.APPROVAL_REQUESTED, step_id, {"hint": hint})], now))
        return record

    async def decide_approval(
        self, run_id: RunId, step_id: StepId, decision: Decision, by: str, reason: str
    ) -> ApprovalRecord:
        now = await self._turn()
        run = self._run(run_id)
        known = run.approvals.get(step_id)
        if known is None or known.decision is not None:
            raise ApprovalError(
                f"step {step_id!r} of run {run_id} is not waiting for approval (not "
                f"requested yet, or already decided); see `orchestra runs show {run_id}`"
            )
        record = run.approvals[step_id] = replace(
            known, decision=decision, decided_by=by, reason=reason, decided_at=now
        )
        message = f"{decision} by {by}" + (f": {reason}" if reason else "")
        content = {"message": message, "approval": decision, "by": by, "reason": reason}
        self._publish(append(run, [(EventType.LOG, step_id, content)], now))
        return record

    # -------------------------------------------------------------- events

    async def append_events(
        self, run_id: RunId, events: Iterable[EventDraft], *, wait: bool = True
    ) -> None:
        now = await self._turn()
        self._publish(append(self._run(run_id), events, now))

    async def wait_idle(self) -> None:
        """Every write is done when it returns; kept for the SQL store's callers."""
        await self._turn()


__all__ = ["AttemptRow", "MemoryRunStore"]
