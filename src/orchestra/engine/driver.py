"""The run driver: drives one run over its persisted state, starting every ready step at once.

A driver keeps a ready set over the DAG (``graphlib``-style counters of
unfinished dependencies), hands ready steps to the executor inside a task
group, and commits every decision it makes (skips, approvals, cancellations,
the run's own transitions) through the store before moving on. The
:class:`~orchestra.engine.scheduler.Engine` holds the run's lease while a
driver works, so two processes never drive one run.

Every step task reports exactly one outcome to the driver's inbox, from a done
callback, even when it is cancelled before it ever ran (a cancel or a
``fail_fast`` failure that arrives while freshly started tasks wait for their
first turn): the driver waits for one outcome per task before it finishes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from orchestra.definitions.specs import StepSpec
from orchestra.engine.claim_ahead import ClaimAhead, startable
from orchestra.engine.errors import (
    ExecutorFailed,
    ExpressionError,
    RunBudgetExceeded,
    StepRejected,
    error_data,
    over_budget,
)
from orchestra.engine.events import EventType
from orchestra.engine.expressions import parse_condition
from orchestra.engine.ids import StepId
from orchestra.engine.protocols import (
    ApprovalRecord,
    EventDraft,
    RunOpening,
    RunRecord,
    StepOutcome,
)
from orchestra.engine.run_end import finish
from orchestra.engine.states import RunStatus, StepStatus

if TYPE_CHECKING:
    from orchestra.engine.scheduler import Engine

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Signal:
    """Something other than a step outcome that the driver must react to."""

    kind: str


class RunDriver:
    """Drives one run of an :class:`Engine` from its stored record until it ends or detaches."""

    def __init__(self, engine: Engine, record: RunRecord) -> None:
        self.engine = engine
        self.store = engine.store
        self.record = record
        self.run_id = record.run_id
        self.spec = record.definition.spec
        self.steps: dict[StepId, StepSpec] = {StepId(s.id): s for s in self.spec.steps}
        self.status: dict[StepId, StepStatus] = {sid: r.status for sid, r in record.steps.items()}
        self.dependents: dict[StepId, list[StepId]] = {sid: [] for sid in self.steps}
        self.unfinished: dict[StepId, int] = {}
        for sid, step in self.steps.items():
            for dep in step.dependencies:
                self.dependents[StepId(dep)].append(sid)
            self.unfinished[sid] = len(
                [dep for dep in step.dependencies if not self.status[StepId(dep)].terminal]
            )
        self.variables: dict[str, str] = dict(record.definition.inputs)
        for r in record.steps.values():
            if r.status is StepStatus.SUCCEEDED:
                self.variables.update(r.outputs)
        self.approvals = dict(record.approvals)
        self.usage = record.usage
        self.unsettled: list[StepId] = []
        """Steps whose task ended without reaching the store (cancelled before a claim)."""
        self.run_status = record.status
        self.started: set[StepId] = set()
        self.tasks: dict[StepId, asyncio.Task[None]] = {}
        self.inbox: asyncio.Queue[StepOutcome | _Signal] = asyncio.Queue()
        self.failed = False
        self.cancelling = False
        self.over_budget: RunBudgetExceeded | None = None
        self.lost_ownership = False
        self.detach_reason: str | None = None
        self.ahead = ClaimAhead(self)
        self.ready: list[StepId] = [
            sid for sid in self.steps if self.unfinished[sid] == 0 and not self.status[sid].terminal
        ]

    # ------------------------------------------------------------ opening

    def opening(self) -> RunOpening:
        """The run's start (or resume) event, its transition, and its first ready steps,
        to be written in the transaction that claims the run."""
        if self.run_status is RunStatus.QUEUED:
            definition = self.record.definition
            started: EventDraft = (
                EventType.RUN_STARTED,
                None,
                {
                    "workflow": self.spec.name,
                    "source_hash": definition.source_hash,
                    "inputs": dict(definition.inputs),
                },
            )
            status: RunStatus | None = RunStatus.RUNNING
        else:
            started = (
                EventType.LOG,
                None,
                {"level": "info", "message": f"run resumed by {self.engine.owner}"},
            )
            status = None
        first = [
            sid
            for sid in self.ready
            if self.status[sid] is StepStatus.PENDING
            and startable(self.steps[sid])
            and self._skip_reason(self.steps[sid]) is None
        ]
        if self.run_status is RunStatus.WAITING or self._budget_spent() is not None:
            first = []  # waiting: it goes back to running through the driver's own transition
        if not getattr(self.engine.executor, "claims_ahead", True):
            first = []  # a remote executor's workers claim the steps themselves
        first = self.ahead.reserve(first, None)
        return RunOpening(status, [started], [self.ahead.request(sid) for sid in first])

    def opened(self) -> None:
        if self.run_status is RunStatus.QUEUED:
            self.run_status = RunStatus.RUNNING

    def unreserve_all(self) -> None:
        self.ahead.unreserve_all()

    @property
    def accepting_claims(self) -> bool:
        """False once the run is stopping: no step may be claimed ahead any more."""
        return not (
            self.cancelling
            or self.failed_fast
            or self.lost_ownership
            or self.detach_reason
            or self.over_budget
        )

    def slot_of(self, sid: StepId) -> tuple[str, str]:
        agent_name = self.steps[sid].agent_name
        agent = self.spec.agents.get(agent_name)
        return agent_name, agent.model if agent is not None else ""

    # ------------------------------------------------------------ signals

    def detach(self, reason: str) -> bool:
        """False when the run is being cancelled: that finishes (it is quick) instead."""
        if self.cancelling:
            return False
        if self.detach_reason is not None:
            return True
        self.detach_reason = reason
        if self.engine.execution is not None:
            self.engine.execution.detaching.add(self.run_id)
        self.inbox.put_nowait(_Signal("detach"))
        return True

    def request_cancel(self) -> None:
        self.inbox.put_nowait(_Signal("cancel"))

    def wake(self) -> None:
        self.inbox.put_nowait(_Signal("decision"))

    # ------------------------------------------------------------- main loop

    async def drive(self) -> RunStatus:
        async with asyncio.TaskGroup() as group:
            heartbeat = group.create_task(self._heartbeat())
            try:
                await self._loop(group)
            finally:
                heartbeat.cancel()
        return await finish(self)

    async def _loop(self, group: asyncio.TaskGroup) -> None:
        await self._check_budget()
        while True:
            await self._schedule(group)
            awaiting = self._awaiting_approval()
            if not self.tasks and (not awaiting or self.stopping):
                return
            if not self.tasks and awaiting and self.run_status is RunStatus.RUNNING:
                await self.set_run(RunStatus.WAITING)
            item = await self.inbox.get()
            if isinstance(item, _Signal):
                await self._on_signal(item)
            else:
                await self._on_outcome(item)
            if self.lost_ownership or self.detach_reason is not None:
                for task in self.tasks.values():
                    task.cancel()
                return

    @property
    def failed_fast(self) -> bool:
        return self.failed and self.spec.on_failure == "fail_fast"

    @property
    def stopping(self) -> bool:
        """No new step starts: the run is cancelled, failed fast or over its budget."""
        return self.cancelling or self.failed_fast or self.over_budget is not None

    def _awaiting_approval(self) -> list[StepId]:
        return [
            sid
            for sid, a in self.approvals.items()
            if a.decision is None and not self.status[sid].terminal
        ]

    async def _schedule(self, group: asyncio.TaskGroup) -> None:
        """Start (or skip, or hold for approval) every ready step."""
        while self.ready and not self.stopping and self.detach_reason is None:
            sid = self.ready.pop()
            if sid in self.started or self.status[sid].terminal:
                continue
            step = self.steps[sid]
            skip_reason = self._skip_reason(step)
            if skip_reason is not None:
                await self._settle(
                    sid,
                    StepStatus.SKIPPED,
                    EventType.STEP_COMPLETE,
                    {"status": "skipped", "reason": skip_reason},
                )
                continue
            if step.approval and not await self._approved(sid):
                continue
            if self.run_status is RunStatus.WAITING:
                await self.set_run(RunStatus.RUNNING)
            self.started.add(sid)
            task = group.create_task(self._execute(sid), name=f"step {sid}")
            task.add_done_callback(partial(self._deliver, sid))
            self.tasks[sid] = task

    def _deliver(self, sid: StepId, task: asyncio.Task[None]) -> None:
        """Report a task that ended without an outcome: cancelled before (or while) it ran.
        It is reported cancelled, for :func:`~orchestra.engine.run_end.finish` to settle.
        A task that ran to its end delivered its outcome itself (:meth:`_execute`), in
        the same turn of the event loop, so the driver wakes one turn sooner per step."""
        if task.cancelled() or task.exception() is not None:
            self.inbox.put_nowait(StepOutcome(sid, StepStatus.CANCELLED, settled=False))

    def _skip_reason(self, step: StepSpec) -> str | None:
        deps = [self.status[StepId(d)] for d in step.dependencies]
        if deps and all(s is StepStatus.SKIPPED for s in deps):
            return "every step it depends on was skipped"
        if step.when:
            try:
                if not parse_condition(step.when).evaluate(self._condition_vars(step)):
                    return f"condition is false: {step.when}"
            except ExpressionError as error:
                return f"condition could not be evaluated ({error}); treated as false"
        return None

    def _condition_vars(self, step: StepSpec) -> dict[str, str]:
        values = dict(self.variables)
        for dep in step.dependencies:
            if self.status[StepId(dep)] is StepStatus.SKIPPED:
                for name in self.steps[StepId(dep)].output_vars:
                    values.setdefault(name, "")
        return values

    async def _approved(self, sid: StepId) -> bool:
        approval = self.approvals.get(sid)
        if approval is None:
            self.approvals[sid] = await self.store.request_approval(self.run_id, sid)
            approval = self.approvals[sid]
        if approval.decision == "approved":
            return True
        if approval.decision == "rejected":
            rejected = error_data(StepRejected(sid, approval.decided_by, approval.reason))
            await self._settle(
                sid,
                StepStatus.FAILED,
                EventType.STEP_FAILED,
                {"status": "failed", "error": rejected, "will_retry": False},
                error=rejected,
            )
            self.failed = True
            await self._after_failure(sid)
        return False

    async def _execute(self, sid: StepId) -> None:
        agent, model = self.slot_of(sid)
        reserved = self.ahead.take(sid)
        try:
            async with self.engine.limits.slot(agent, model, reserved=reserved):
                outcome = await self.engine.executor.execute(self.run_id, sid)
        except Exception as exc:  # an executor/store failure: the step fails, the run goes on
            outcome = await self._executor_failed(sid, exc)
        self.inbox.put_nowait(outcome)

    async def _executor_failed(self, sid: StepId, exc: Exception) -> StepOutcome:
        failure = error_data(ExecutorFailed(sid, exc))
        log.error("executing step %r of run %s failed", sid, self.run_id, exc_info=exc)
        try:
            await self.store.settle_steps(
                self.run_id,
                [sid],
                StepStatus.FAILED,
                [
                    (
                        EventType.STEP_FAILED,
                        sid,
                        {"status": "failed", "error": failure, "will_retry": False},
                    )
                ],
                error=failure,
            )
        except Exception:  # the store is down: the end settles it (or a resume does)
            log.exception("settling failed step %r of run %s failed", sid, self.run_id)
            return StepOutcome(sid, StepStatus.FAILED, error=failure["message"], settled=False)
        return StepOutcome(sid, StepStatus.FAILED, error=failure["message"])

    async def _on_outcome(self, outcome: StepOutcome) -> None:
        sid = outcome.step_id
        self.ahead.finished(sid)
        task = self.tasks.pop(sid, None)
        if task is None:
            return
        if outcome.status is StepStatus.RUNNING:  # lease taken over elsewhere: wait for its end
            self.started.discard(sid)
            self.ready.append(sid)
            return
        self.status[sid] = outcome.status
        self.usage = self.usage + outcome.usage
        if not outcome.settled:
            self.unsettled.append(sid)
        if outcome.status is StepStatus.SUCCEEDED:
            self.variables.update(outcome.outputs)
            self._release_dependents(sid)
        elif outcome.status is StepStatus.FAILED:
            self.failed = True
            await self._after_failure(sid)
        else:
            self._release_dependents(sid)
        if self.spec.budget is not None:
            await self._check_budget()

    async def _after_failure(self, sid: StepId) -> None:
        if self.spec.on_failure == "fail_fast":
            await self._stop_all(f"step {sid!r} failed (fail_fast)")
            return
        blocked: list[StepId] = []
        frontier = list(self.dependents[sid])
        while frontier:
            dep = frontier.pop()
            if dep in blocked or self.status[dep].terminal or dep in self.started:
                continue
            blocked.append(dep)
            frontier.extend(self.dependents[dep])
        for dep in blocked:
            await self._settle(
                dep,
                StepStatus.CANCELLED,
                EventType.STEP_FAILED,
                {"status": "cancelled", "reason": f"upstream step {sid!r} failed"},
            )

    def _budget_spent(self) -> RunBudgetExceeded | None:
        spent = over_budget(self.spec.budget, self.usage)
        return RunBudgetExceeded(*spent) if spent is not None else None

    async def _check_budget(self) -> None:
        """Stop the run once its steps' usage is over the workflow's ``budget:``."""
        if self.spec.budget is None or self.over_budget is not None or self.cancelling:
            return
        spent = self._budget_spent()
        if spent is None:
            return
        self.over_budget = spent
        await self.store.append_events(self.run_id, [(EventType.ERROR, None, error_data(spent))])
        await self._stop_all("the run's budget is spent")

    async def _stop_all(self, reason: str) -> None:
        """Cancel every running step (as tasks) and every step that has not started."""
        for task in self.tasks.values():
            task.cancel()
        open_steps = [
            sid
            for sid, status in self.status.items()
            if not status.terminal and sid not in self.tasks
        ]
        if open_steps:
            await self.store.settle_steps(
                self.run_id,
                open_steps,
                StepStatus.CANCELLED,
                [
                    (EventType.STEP_FAILED, sid, {"status": "cancelled", "reason": reason})
                    for sid in open_steps
                ],
            )
            for sid in open_steps:
                self.status[sid] = StepStatus.CANCELLED

    def _release_dependents(self, sid: StepId) -> None:
        for dep in self.dependents[sid]:
            self.unfinished[dep] -= 1
            if self.unfinished[dep] == 0:
                self.ready.append(dep)

    async def _settle(
        self,
        sid: StepId,
        target: StepStatus,
        event: EventType,
        content: dict[str, Any],
        *,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        await self.store.settle_steps(
            self.run_id, [sid], target, [(event, sid, content)], error=error
        )
        self.status[sid] = target
        if target is not StepStatus.FAILED:
            self._release_dependents(sid)

    async def _on_signal(self, signal: _Signal) -> None:
        if signal.kind == "cancel" and not self.cancelling and self.detach_reason is None:
            self.cancelling = True
            await self._stop_all("run cancelled")
        elif signal.kind == "decision":
            signals = await self.store.heartbeat_run(
                self.run_id, self.engine.owner, self.engine.settings.lease_s, with_decisions=True
            )
            self._apply_decisions(signals.decisions)
        elif signal.kind == "lost":
            self.lost_ownership = True

    def _apply_decisions(self, decisions: Mapping[StepId, ApprovalRecord]) -> None:
        for sid, decided in decisions.items():
            known = self.approvals.get(sid)
            if known is not None and known.decision is None:
                self.approvals[sid] = decided
                if not self.status[sid].terminal and sid not in self.started:
                    self.ready.append(sid)

    async def _heartbeat(self) -> None:
        settings = self.engine.settings
        while True:
            awaiting = bool(self._awaiting_approval())
            await asyncio.sleep(settings.poll_s if awaiting else min(settings.lease_s / 3, 2.0))
            signals = await self.store.heartbeat_run(
                self.run_id, self.engine.owner, settings.lease_s, with_decisions=awaiting
            )
            if not signals.owns_run:
                self.inbox.put_nowait(_Signal("lost"))
                return
            if signals.cancel_requested and not self.cancelling:
                self.inbox.put_nowait(_Signal("cancel"))
            if awaiting and any(
                self.approvals.get(sid) is not None and self.approvals[sid].decision is None
                for sid in signals.decisions
            ):
                self.inbox.put_nowait(_Signal("decision"))

    async def set_run(
        self,
        target: RunStatus,
        events: list[EventDraft] | None = None,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        await self.store.set_run_status(self.run_id, target, events or [], error=error)
        self.run_status = target


__all__ = ["RunDriver"]
