"""The scheduler's facade: the :class:`Engine` starts, resumes, cancels and approves runs.

Each run it drives gets a :class:`~orchestra.engine.driver.RunDriver` (the ready
set, the step tasks, the run's transitions) while the engine holds the run's
lease, so two processes never drive one run; claim-ahead
(:mod:`orchestra.engine.claim_ahead`) lets a step's success claim its dependents
in the same commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from orchestra.definitions.specs import WorkflowSpec
from orchestra.engine.control import CancelOutcome, RunControl
from orchestra.engine.driver import RunDriver
from orchestra.engine.errors import RunBusy
from orchestra.engine.execution import StepExecution
from orchestra.engine.executor import ExecutorFactory, LocalExecutor
from orchestra.engine.expressions import parse_condition
from orchestra.engine.ids import RunId, StepId, new_owner, owner_is_dead
from orchestra.engine.limits import Cap, Limits
from orchestra.engine.protocols import (
    ClaimRequest,
    Decision,
    Executor,
    RunOpening,
    RunRecord,
    RunScopedRunner,
    RunStore,
    StepRunner,
)
from orchestra.engine.states import RunStatus
from orchestra.engine.variables import resolve_inputs
from orchestra.usage import UsageTotals

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Plain values the engine needs (the CLI adapts them from ``Settings``)."""

    max_concurrency: int | None = 1024
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
        executor_factory: ExecutorFactory = LocalExecutor,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.settings = settings or EngineSettings()
        self.owner = owner or new_owner()
        self.control = RunControl(store, owner=self.owner, lease_s=self.settings.lease_s)
        """Cancels and decisions through the store (for runs this engine does not drive)."""
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
            executor = executor_factory(self.execution)
        self.executor: Executor = executor
        self.limits = Limits(
            self.settings.max_concurrency,
            self.settings.agent_concurrency,
            self.settings.model_concurrency,
        )
        self._drivers: dict[RunId, RunDriver] = {}
        self._opening: set[RunId] = set()
        self._cancel_on_open: set[RunId] = set()
        """Runs cancelled while their drive was opening: cancelled as soon as it opens."""
        self._cancelling: dict[RunId, asyncio.Event] = {}
        """Runs this engine is cancelling through the store (no driver here)."""
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
        cancelling = self._cancelling.get(run_id)
        if cancelling is not None:  # the lease is per process: let that cancel finish first
            await cancelling.wait()
        made: list[RunDriver] = []

        def opening(record: RunRecord) -> RunOpening:
            # Called inside the store's transaction (again if the batch is retried).
            for earlier in made:
                earlier.unreserve_all()
            made.append(RunDriver(self, record))
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
            self._cancel_on_open.discard(run_id)
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
                self._cancel_on_open.discard(run_id)
                return record.status
            if run_id in self._cancel_on_open:  # driven elsewhere: leave the request there
                self._cancel_on_open.discard(run_id)
                await self.store.request_cancel(run_id)
            raise RunBusy(
                f"run {run_id} is being driven by {record.owner}; wait for it, or stop that "
                "process and run `orchestra runs resume` again"
            )
        driver = made[-1]
        driver.opened()
        if self.execution is not None:
            self.execution.adopt(opened.claims)
        self._drivers[run_id] = driver
        if run_id in self._cancel_on_open:
            self._cancel_on_open.discard(run_id)
            driver.request_cancel()
        elif self._detach_reason is not None:
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

    def _ready_after(
        self, run_id: RunId, step_id: StepId, usage: UsageTotals
    ) -> list[ClaimRequest]:
        driver = self._drivers.get(run_id)
        return driver.ahead.ready_after(step_id, usage) if driver is not None else []

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
        if run_id in self._opening:  # its driver exists in a moment: it cancels at once
            self._cancel_on_open.add(run_id)
            return True
        if run_id in self._cancelling:
            await self._cancelling[run_id].wait()
            return True
        done = self._cancelling[run_id] = asyncio.Event()
        try:
            return await self._cancel_in_store(run_id)
        finally:
            del self._cancelling[run_id]
            done.set()

    async def _cancel_in_store(self, run_id: RunId) -> bool:
        """Cancel a run no driver of this process has, through :class:`RunControl`."""
        return await self.control.cancel(run_id) is not CancelOutcome.REQUESTED

    async def decide(
        self, run_id: RunId, step_id: StepId, decision: Decision, by: str, reason: str = ""
    ) -> None:
        """Record an approval decision; a driver in this process acts on it at once."""
        await self.control.decide(run_id, step_id, decision, by, reason)
        driver = self._drivers.get(run_id)
        if driver is not None:
            driver.wake()


__all__ = ["Engine", "EngineSettings", "RunBusy"]
