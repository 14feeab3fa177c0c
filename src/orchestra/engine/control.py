"""Controlling a run with nothing but its store: cancel it, approve or reject a step.

:class:`RunControl` is what a process that does not drive a run uses to act on it
(``orchestra runs cancel``, a second server, the planner): it needs no step runner,
no gateway and no :class:`~orchestra.engine.scheduler.Engine`. The engine uses it
too for the runs it does not drive, so there is one way to cancel a run.

A cancel either settles the run here, when no live process holds its lease (the
control claims the lease, cancels the open steps, finishes the run, releases the
lease), or leaves a cancel request in the store for the process that drives it.
That process learns of it from its run heartbeat, and an attempt running on any
process learns of it when it renews its step lease (``LeaseState.cancel_requested``),
so a request is acted on within a heartbeat.

A decision is stored; the driver of the run, wherever it is, reads it on its next
heartbeat (one ``poll_s`` while a step awaits approval).
"""

from __future__ import annotations

import enum

from orchestra.engine.errors import ApprovalError
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId, StepId, new_owner, owner_is_dead
from orchestra.engine.protocols import ApprovalRecord, Decision, RunStore
from orchestra.engine.states import RunStatus, StepStatus


class CancelOutcome(enum.Enum):
    """What :meth:`RunControl.cancel` did."""

    CANCELLED = "cancelled"
    """The run was settled ``cancelled`` here (nobody drove it)."""
    REQUESTED = "requested"
    """A live process drives the run: a cancel request was left for it."""
    FINISHED = "finished"
    """The run had already finished; nothing was changed."""


class RunControl:
    """Cancel runs and decide approvals through the store alone.

    ``owner`` is the lease owner the control claims a run under while it settles a
    cancel (a fresh one per process by default); ``lease_s`` bounds how long a
    control that dies mid-cancel keeps the run from others.
    """

    def __init__(self, store: RunStore, *, owner: str | None = None, lease_s: float = 30.0):
        self.store = store
        self.owner = owner or new_owner()
        self.lease_s = lease_s

    async def cancel(self, run_id: RunId) -> CancelOutcome:
        """Cancel ``run_id``: settle it here if no live process holds it, else ask that
        process to (``REQUESTED``). ``RunNotFound`` when there is no such run."""
        record = await self.store.get_run(run_id)
        if record.status.terminal:
            return CancelOutcome.FINISHED
        reclaim = [record.owner] if record.owner and owner_is_dead(record.owner) else []
        if not await self.store.claim_run(run_id, self.owner, self.lease_s, reclaim):
            await self.store.request_cancel(run_id)
            return CancelOutcome.REQUESTED
        try:
            record = await self.store.get_run(run_id)  # as it is now that we hold it
            if record.status.terminal:
                return CancelOutcome.FINISHED
            open_steps = [sid for sid, s in record.steps.items() if not s.status.terminal]
            await self.store.settle_steps(
                run_id,
                open_steps,
                StepStatus.CANCELLED,
                [
                    (EventType.STEP_FAILED, sid, {"status": "cancelled", "reason": "run cancelled"})
                    for sid in open_steps
                ],
            )
            await self.store.set_run_status(
                run_id,
                RunStatus.CANCELLED,
                [
                    (
                        EventType.RUN_FINISHED,
                        None,
                        {"status": RunStatus.CANCELLED.value, "usage": record.usage.to_json()},
                    )
                ],
            )
        finally:
            await self.store.release_run(run_id, self.owner)
        return CancelOutcome.CANCELLED

    async def decide(
        self, run_id: RunId, step_id: StepId, decision: Decision, by: str, reason: str = ""
    ) -> ApprovalRecord:
        """Record a decision on a step awaiting approval (``ApprovalError`` when the run
        has no such step or the step is not awaiting one)."""
        record = await self.store.get_run(run_id)
        if step_id not in record.steps:
            raise ApprovalError(
                f"run {run_id} has no step {step_id!r}; its steps: {', '.join(record.steps)} "
                "(see `orchestra runs show`)"
            )
        return await self.store.decide_approval(run_id, step_id, decision, by, reason)

    async def approve(
        self, run_id: RunId, step_id: StepId, by: str, reason: str = ""
    ) -> ApprovalRecord:
        """Approve a step awaiting approval: the run goes on where it is driven."""
        return await self.decide(run_id, step_id, "approved", by, reason)

    async def reject(
        self, run_id: RunId, step_id: StepId, by: str, reason: str = ""
    ) -> ApprovalRecord:
        """Reject a step awaiting approval: the step fails, and so does the run."""
        return await self.decide(run_id, step_id, "rejected", by, reason)


__all__ = ["CancelOutcome", "RunControl"]
