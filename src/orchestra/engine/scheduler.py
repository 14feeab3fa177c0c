"""The scheduler: drives runs over their persisted state, starting every ready step at once.

A run's driver keeps a ready set over the DAG (``graphlib``-style counters of
unfinished dependencies), hands ready steps to the executor inside a task
group, and commits every decision it makes (skips, approvals, cancellations,
the run's own transitions) through the store before moving on. It holds the
run's lease while it works, so two processes never drive one run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestra.definitions.specs import StepSpec, WorkflowSpec
from orchestra.engine.errors import ApprovalError, ExpressionError, RunBusy
from orchestra.engine.events import EventType
from orchestra.engine.execution import StepExecution
from orchestra.engine.executor import LocalExecutor
from orchestra.engine.expressions import parse_condition
from orchestra.engine.ids import RunId, StepId, new_owner, owner_is_dead
from orchestra.engine.limits import Cap, Limits
from orchestra.engine.protocols import (
    ClaimRequest,
    Decision,
    EventDraft,
    Executor,
    RunOpening,
    RunRecord,
    RunScopedRunner,
    RunStore,
    StepOutcome,
    StepRunner,
)
from orchestra.engine.states import RunStatus, StepStatus
from orchestra.engine.variables import resolve_inputs

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Plain values the engine needs (the CLI adapts them from ``Settings``)."""

    max_concurrency: int | None = 64
    agent_concurrency: Cap = None
    """One cap for every agent, or a cap per agent name."""
    model_concurrency: Cap = None
    """One cap for every model, or a cap per model alias."""
    lease_s: float = 30.0
    retry_base_s: float = 1.0
    retry_max_s: float = 30.0
    poll_s: float = 0.5
    """How often a driver polls the store for approvals and cancel requests from elsewhere."""


class Engine:
    """Starts, resumes, cancels and approves runs. One per process (built in a factory)."""

    def __init__(
        self,
        store: RunStore,
        runner: StepRunner,
        settings: EngineSettings | None = None,
        *,
        executor: Executor | None = None,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.settings = settings or EngineSettings()
        self.owner = owner or new_owner()
        self.execution: StepExecution | None = None
        """The in-process step execution (None with a caller's executor)."""
        if executor is None:
            self.execution = StepExecution(
                store,
                runner,
                self.owner,
                lease_s=self.settings.lease_s,
                retry_base_s=self.settings.retry_base_s,
                retry_max_s=self.settings.retry_max_s,
                ready_after=self._ready_after,
            )
            executor = LocalExecutor(self.execution)
        self.executor: Executor = executor
        self.limits = Limits(
            self.settings.max_concurrency,
            self.settings.agent_concurrency,
            self.settings.model_concurrency,
        )
        self._drivers: dict[RunId, _RunDriver] = {}
        self._opening: set[RunId] = set()
        self._detach_reason: str | None = None
        """Set by :meth:`detach_all`: a drive that starts afterwards detaches at once."""

    async def create_run(self, spec: WorkflowSpec, inputs: Mapping[str, str]) -> RunId:
        """Validate inputs and conditions, then store a queued run with a snapshot of ``spec``."""
        for step in spec.steps:
            if step.when:
                parse_condition(step.when)
        return await self.store.create_run(spec, resolve_inputs(spec, inputs))

    async def run(self, spec: WorkflowSpec, inputs: Mapping[str, str]) -> tuple[RunId, RunStatus]:
        run_id = await self.create_run(spec, inputs)
        return run_id, await self.drive(run_id)

    async def drive(self, run_id: RunId) -> RunStatus:
        """Run (or resume) ``run_id`` until it finishes. Raises RunBusy if a live process has it."""
        if run_id in self._drivers or run_id in self._opening:
            # The run lease is per process (owner), so it would let a second driver in.
            raise RunBusy(f"run {run_id} is already being driven by this process")
        made: list[_RunDriver] = []

        def opening(record: RunRecord) -> RunOpening:
            # Called inside the store's transaction (again if the batch is retried).
            for earlier in made:
                earlier.unreserve_all()
            made.append(_RunDriver(self, record))
            return made[-1].opening()

        self._opening.add(run_id)
        try:
            opened = await self.store.open_run(
                run_id,
                self.owner,
                self.settings.lease_s,
                owner_is_dead=owner_is_dead,
                opening=opening,
            )
        except BaseException:
            for earlier in made:
                earlier.unreserve_all()
            raise
        finally:
            self._opening.discard(run_id)
        record = opened.record
        if not opened.claimed:
            for earlier in made:
                earlier.unreserve_all()
            if record.status.terminal:
                return record.status
            raise RunBusy(
                f"run {run_id} is being driven by {record.owner}; wait for it, or stop that "
                "process and run `orchestra runs resume` again"
            )
        driver = made[-1]
        driver.opened()
        if self.execution is not None:
            self.execution.adopt(opened.claims)
        self._drivers[run_id] = driver
        if self._detach_reason is not None:
            driver.detach(self._detach_reason)
        try:
            return await driver.drive()
        finally:
            del self._drivers[run_id]
            driver.unreserve_all()
            if self.execution is not None:
                # Claims made ahead and never started: the run is finished (they were
                # settled), detached (released), or stopped by a crash (they are
                # re-claimed on resume like any interrupted attempt).
                self.execution.forget(run_id)
                self.execution.detaching.discard(run_id)
            with contextlib.suppress(Exception):
                await asyncio.shield(self._end_drive(run_id))

    def detach(self, run_id: RunId, reason: str) -> bool:
        """Stop driving ``run_id`` here without ending it; False if this process does not
        drive it. Steps in flight are stopped but not cancelled: their attempts become
        ``interrupted`` and their leases and the run's are released, so the run stays
        ``running`` (or ``waiting``) with no owner and a resume continues it at once.
        ``drive`` then returns the run's (unfinished) status. A run being cancelled is
        not detached (False): its cancellation completes."""
        driver = self._drivers.get(run_id)
        return driver is not None and driver.detach(reason)

    def detach_all(self, reason: str) -> list[RunId]:
        """Detach every run this engine drives, and any drive that starts from now on
        (a process shutting down); returns the runs detached."""
        self._detach_reason = reason
        return [run_id for run_id, driver in self._drivers.items() if driver.detach(reason)]

    def _ready_after(self, run_id: RunId, step_id: StepId) -> list[ClaimRequest]:
        driver = self._drivers.get(run_id)
        return driver.ready_after(step_id) if driver is not None else []

    async def _end_drive(self, run_id: RunId) -> None:
        """Release the runner's per-run resources, then the run lease (so a resume that
        claims the run next never shares those resources with a closing drive)."""
        if isinstance(self.runner, RunScopedRunner):
            try:
                await self.runner.close_run(run_id)
            except Exception:
                log.exception("step runner failed to close run %s", run_id)
        await self.store.release_run(run_id, self.owner)

    resume = drive

    async def cancel(self, run_id: RunId) -> bool:
        """Cancel a run. Returns True when it was cancelled here (or by a driver in this
        process); False when a cancel request was left for the live process driving it."""
        driver = self._drivers.get(run_id)
        if driver is not None:
            driver.request_cancel()
            return True
        record = await self.store.get_run(run_id)
        if record.status.terminal:
            return True
        reclaim = [record.owner] if record.owner and owner_is_dead(record.owner) else []
        if not await self.store.claim_run(run_id, self.owner, self.settings.lease_s, reclaim):
            await self.store.request_cancel(run_id)
            return False
        try:
            open_steps = [sid for sid, s in record.steps.items() if not s.status.terminal]
            await self.store.settle_steps(
                run_id,
                open_steps,
                StepStatus.CANCELLED,
                [(EventType.STEP_FAILED, sid, {"status": "cancelled"}) for sid in open_steps],
            )
            await self.store.set_run_status(
                run_id,
                RunStatus.CANCELLED,
                [(EventType.RUN_FINISHED, None, {"status": RunStatus.CANCELLED.value})],
            )
        finally:
            await self.store.release_run(run_id, self.owner)
        return True

    async def decide(
        self, run_id: RunId, step_id: StepId, decision: Decision, by: str, reason: str = ""
    ) -> None:
        """Record an approval decision; a driver in this process acts on it at once."""
        record = await self.store.get_run(run_id)
        if step_id not in record.steps:
            raise ApprovalError(f"run {run_id} has no step {step_id!r}; see `orchestra runs show`")
        await self.store.decide_approval(run_id, step_id, decision, by, reason)
        driver = self._drivers.get(run_id)
        if driver is not None:
            driver.wake()


@dataclass(slots=True)
class _Signal:
    """Something other than a step outcome that the driver must react to."""

    kind: str


class _RunDriver:
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
            self.unfinished[sid] = sum(
                1 for dep in step.dependencies if not self.status[StepId(dep)].terminal
            )
        self.variables: dict[str, str] = dict(record.definition.inputs)
        for r in record.steps.values():
            if r.status is StepStatus.SUCCEEDED:
                self.variables.update(r.outputs)
        self.approvals = dict(record.approvals)
        self.usage = record.usage
        self.unsettled: list[StepId] = []
        self.run_status = record.status
        self.started: set[StepId] = set()
        self.tasks: dict[StepId, asyncio.Task[None]] = {}
        self.inbox: asyncio.Queue[StepOutcome | _Signal] = asyncio.Queue()
        self.failed = False
        self.cancelling = False
        self.lost_ownership = False
        self.detach_reason: str | None = None
        self.reserved: set[StepId] = set()
        """Steps claimed ahead whose concurrency slot is reserved until they start."""
        self.finishing: set[StepId] = set()
        """Steps whose success is being committed (asked ``ready_after``, no outcome yet)."""
        self.ready: list[StepId] = [
            sid for sid in self.steps if self.unfinished[sid] == 0 and not self.status[sid].terminal
        ]

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
            started = (EventType.LOG, None, {"message": f"run resumed by {self.engine.owner}"})
            status = None
        first = [
            sid
            for sid in self.ready
            if self.status[sid] is StepStatus.PENDING
            and self._startable(self.steps[sid])
            and self._skip_reason(self.steps[sid]) is None
        ]
        if self.run_status is RunStatus.WAITING:
            first = []  # it goes back to running through the driver's own transition
        first = self._reserve(first, None)
        lease_s = self.engine.settings.lease_s
        return RunOpening(
            status,
            [started],
            [ClaimRequest(sid, lease_s, {"agent": self.steps[sid].agent_name}) for sid in first],
        )

    def opened(self) -> None:
        if self.run_status is RunStatus.QUEUED:
            self.run_status = RunStatus.RUNNING

    @staticmethod
    def _startable(step: StepSpec) -> bool:
        """Started as soon as it is ready: nothing to evaluate or wait for first."""
        return not step.when and not step.approval

    def _reserve(self, candidates: list[StepId], freeing: StepId | None) -> list[StepId]:
        """Keep the candidates a concurrency slot is free for, and reserve those slots."""
        if not candidates:
            return candidates
        limits = self.engine.limits
        if limits.unlimited:
            return candidates
        slots = [self._slot_of(sid) for sid in candidates]
        kept = limits.room(slots, self._slot_of(freeing) if freeing is not None else None)
        for sid, slot in zip(candidates[:kept], slots[:kept], strict=True):
            limits.reserve(*slot)
            self.reserved.add(sid)
        return candidates[:kept]

    def unreserve_all(self) -> None:
        for sid in self.reserved:
            self.engine.limits.unreserve(*self._slot_of(sid))
        self.reserved.clear()

    def ready_after(self, sid: StepId) -> list[ClaimRequest]:
        """The dependents of ``sid`` that start at once if it succeeds now, so the store
        can claim them in the same transaction: every other unfinished dependency is
        finishing too (its success is queued ahead of this one: siblings ending
        together, as a layer of parallel steps does), no condition or approval to
        evaluate first, and a concurrency slot is free. The store checks in the
        transaction that those siblings did succeed before it claims."""
        if self.cancelling or self.failed_fast or self.lost_ownership or self.detach_reason:
            return []
        self.finishing.add(sid)
        ready: list[StepId] = []
        requires: dict[StepId, tuple[StepId, ...]] = {}
        finishing = len(self.finishing)
        for dep in self.dependents[sid]:
            unfinished = self.unfinished[dep]
            if (
                unfinished > finishing  # then some unfinished dependency is not finishing
                or dep in self.started
                or dep in self.reserved
                or self.status[dep].terminal
                or not self._startable(self.steps[dep])
            ):
                continue
            if unfinished > 1:
                others = {
                    other
                    for other in map(StepId, self.steps[dep].dependencies)
                    if other != sid and not self.status[other].terminal
                }
                if not others <= self.finishing:
                    continue
                requires[dep] = tuple(sorted(others))
            ready.append(dep)
        lease_s = self.engine.settings.lease_s
        return [
            ClaimRequest(
                dep,
                lease_s,
                {"agent": self.steps[dep].agent_name},
                requires.get(dep, ()),
            )
            for dep in self._reserve(ready, sid)
        ]

    def _slot_of(self, sid: StepId) -> tuple[str, str]:
        agent_name = self.steps[sid].agent_name
        agent = self.spec.agents.get(agent_name)
        return agent_name, agent.model if agent is not None else ""

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
        return await self._finish()

    async def _loop(self, group: asyncio.TaskGroup) -> None:
        while True:
            await self._schedule(group)
            awaiting = self._awaiting_approval()
            if not self.tasks and (not awaiting or self.cancelling or self.failed_fast):
                return
            if not self.tasks and awaiting and self.run_status is RunStatus.RUNNING:
                await self._set_run(RunStatus.WAITING)
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

    def _awaiting_approval(self) -> list[StepId]:
        return [
            sid
            for sid, a in self.approvals.items()
            if a.decision is None and not self.status[sid].terminal
        ]

    async def _schedule(self, group: asyncio.TaskGroup) -> None:
        """Start (or skip, or hold for approval) every ready step."""
        while (
            self.ready
            and not self.cancelling
            and not self.failed_fast
            and self.detach_reason is None
        ):
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
                await self._set_run(RunStatus.RUNNING)
            self.started.add(sid)
            self.tasks[sid] = group.create_task(self._execute(sid), name=f"step {sid}")

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
            who = f"rejected by {approval.decided_by}" + (
                f": {approval.reason}" if approval.reason else ""
            )
            await self._settle(
                sid, StepStatus.FAILED, EventType.STEP_FAILED, {"status": "failed", "error": who}
            )
            self.failed = True
            await self._after_failure(sid)
        return False

    async def _execute(self, sid: StepId) -> None:
        agent, model = self._slot_of(sid)
        reserved = sid in self.reserved
        self.reserved.discard(sid)
        try:
            async with self.engine.limits.slot(agent, model, reserved=reserved):
                outcome = await self.engine.executor.execute(self.run_id, sid)
        except asyncio.CancelledError:
            # If the executor had claimed the step it recorded the cancellation;
            # otherwise the step is still pending in the store and _finish settles it.
            self.inbox.put_nowait(StepOutcome(sid, StepStatus.CANCELLED, settled=False))
            raise
        except Exception as error:  # an executor/store failure: the step fails, the run goes on
            outcome = StepOutcome(sid, StepStatus.FAILED, error=f"{type(error).__name__}: {error}")
            await self.store.append_events(
                self.run_id,
                [
                    (
                        EventType.ERROR,
                        sid,
                        {
                            "message": f"executing step {sid!r} failed: {outcome.error}",
                        },
                    )
                ],
            )
        self.inbox.put_nowait(outcome)

    async def _on_outcome(self, outcome: StepOutcome) -> None:
        sid = outcome.step_id
        self.finishing.discard(sid)
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

    async def _after_failure(self, sid: StepId) -> None:
        if self.spec.on_failure == "fail_fast":
            for task in self.tasks.values():
                task.cancel()
            await self._cancel_open(f"step {sid!r} failed (fail_fast)")
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

    async def _cancel_open(self, reason: str) -> None:
        """Cancel every step that has not started (running ones are cancelled as tasks)."""
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
        self, sid: StepId, target: StepStatus, event: EventType, content: dict[str, Any]
    ) -> None:
        await self.store.settle_steps(self.run_id, [sid], target, [(event, sid, content)])
        self.status[sid] = target
        if target is not StepStatus.FAILED:
            self._release_dependents(sid)

    async def _on_signal(self, signal: _Signal) -> None:
        if signal.kind == "cancel" and not self.cancelling and self.detach_reason is None:
            self.cancelling = True
            for task in self.tasks.values():
                task.cancel()
            await self._cancel_open("run cancelled")
        elif signal.kind == "decision":
            signals = await self.store.heartbeat_run(
                self.run_id, self.engine.owner, self.engine.settings.lease_s, with_decisions=True
            )
            self._apply_decisions(signals.decisions)
        elif signal.kind == "lost":
            self.lost_ownership = True

    def _apply_decisions(self, decisions: Mapping[StepId, Any]) -> None:
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

    async def _set_run(
        self,
        target: RunStatus,
        events: list[EventDraft] | None = None,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        await self.store.set_run_status(self.run_id, target, events or [], error=error)
        self.run_status = target

    async def _finish(self) -> RunStatus:
        if self.lost_ownership:
            return self.run_status
        if self.detach_reason is not None and not all(s.terminal for s in self.status.values()):
            return await self._detached(self.detach_reason)
        if self.cancelling:
            final = RunStatus.CANCELLED
        elif self.failed or any(s is StepStatus.FAILED for s in self.status.values()):
            final = RunStatus.FAILED
        elif any(s is StepStatus.CANCELLED for s in self.status.values()):
            final = RunStatus.CANCELLED  # a cancel that a detach or crash interrupted
        elif all(s.terminal for s in self.status.values()):
            final = RunStatus.SUCCEEDED
        else:
            final = RunStatus.FAILED
        leftover = self.unsettled + [sid for sid, s in self.status.items() if not s.terminal]
        if leftover:  # steps cancelled before they were claimed
            await self.store.settle_steps(
                self.run_id,
                leftover,
                StepStatus.CANCELLED,
                [(EventType.STEP_FAILED, sid, {"status": "cancelled"}) for sid in leftover],
            )
            if final is RunStatus.SUCCEEDED:
                final = RunStatus.FAILED
        if self.run_status is RunStatus.WAITING and final is RunStatus.SUCCEEDED:
            await self._set_run(RunStatus.RUNNING)
        usage = self.usage
        failed_steps = [sid for sid, s in self.status.items() if s is StepStatus.FAILED]
        content: dict[str, Any] = {"status": final.value, "usage": usage.to_json()}
        if failed_steps:
            content["failed_steps"] = failed_steps
        await self._set_run(
            final,
            [(EventType.RUN_FINISHED, None, content)],
            error={"failed_steps": failed_steps} if failed_steps else None,
        )
        return final

    async def _detached(self, reason: str) -> RunStatus:
        """Release what this driver holds and say so; the run stays as it is."""
        owner = self.engine.owner
        released = await self.store.detach_steps(self.run_id, owner)
        steps = f"; interrupted steps: {', '.join(released)}" if released else ""
        await self.store.append_events(
            self.run_id,
            [
                (
                    EventType.LOG,
                    None,
                    {
                        "message": f"run detached by {owner} ({reason}){steps}; "
                        f"`orchestra runs resume {self.run_id}` (or the next server "
                        "start) continues it",
                        "detached": True,
                        "reason": reason,
                        "interrupted_steps": released,
                    },
                )
            ],
        )
        return self.run_status


__all__ = ["Engine", "EngineSettings", "RunBusy"]
