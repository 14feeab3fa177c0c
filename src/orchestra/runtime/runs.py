"""The run service: starts, follows and stops the runs this process drives.

Every run this process drives is a task in the service's own task group,
owned by one supervisor task that :meth:`RunService.close` awaits: nothing is
fire-and-forget. A drive task never takes the group down: a run that fails
is a failed run in the store, and an unexpected error is logged and kept for
the shutdown report.

Shutdown runs in named phases (:meth:`RunService.close`):

1. **stop accepting**: new starts and resumes raise :class:`ShuttingDown`;
2. **drain**: wait up to ``grace_s`` for runs in flight to finish;
3. **detach**: detach what is left through the engine: steps in flight are
   stopped without being cancelled, their leases and the run's are released, and
   each run stays ``running`` (or ``waiting``) for the next start to resume;
4. **finalise**: the task group exits;
5. **re-raise**: unexpected errors collected on the way are raised together.

At start-up, :meth:`resume_interrupted` drives again every unfinished run
whose owner is gone (a detach at shutdown, a crash, ``kill -9``): the engine
reclaims its leases, keeps the steps that succeeded, and reruns only
interrupted ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from orchestra.definitions import Project
from orchestra.definitions.specs import WorkflowSpec
from orchestra.engine.errors import RunBusy
from orchestra.engine.ids import RunId, StepId, owner_is_dead
from orchestra.engine.protocols import Decision, RunRecord
from orchestra.engine.scheduler import Engine
from orchestra.engine.states import RunStatus
from orchestra.runtime.errors import Conflict, NotFound, ShuttingDown
from orchestra.store.run_queries import RunQueries

log = logging.getLogger(__name__)

_KEPT_ENDINGS = 100
"""How many unfinished drive endings (detached, crashed) are kept for :meth:`RunService.wait`."""


class RunService:
    """The one place that starts and stops runs in a server process."""

    def __init__(
        self,
        engine: Engine,
        queries: RunQueries,
        project: Callable[[], Project],
        *,
        grace_s: float = 10.0,
        poll_s: float = 0.5,
    ) -> None:
        self.engine = engine
        self.store = engine.store
        self.queries = queries
        self._project = project
        self.grace_s = grace_s
        self.poll_s = poll_s
        """How often :meth:`wait` reads a run that another process drives."""
        self._tasks: dict[RunId, asyncio.Task[None]] = {}
        self._group: asyncio.TaskGroup | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._release = asyncio.Event()
        self._accepting = False
        self._errors: list[BaseException] = []
        self._endings: dict[RunId, RunStatus | Exception] = {}

    # ------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Open the task group (in a supervisor task) and start accepting runs."""
        ready = asyncio.Event()
        self._supervisor = asyncio.create_task(self._supervise(ready), name="orchestra-runs")
        await ready.wait()
        self._accepting = True

    async def _supervise(self, ready: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as group:
            self._group = group
            ready.set()
            await self._release.wait()
        self._group = None

    @property
    def accepting(self) -> bool:
        return self._accepting

    @property
    def active(self) -> list[RunId]:
        """Runs this process is driving right now."""
        return list(self._tasks)

    async def close(self) -> None:
        """Shut down in phases: stop accepting → drain → detach → finalise → re-raise."""
        # 1. stop accepting
        self._accepting = False
        # 2. drain
        pending = list(self._tasks.values())
        if pending:
            log.info("waiting up to %.0fs for %d run(s) to finish", self.grace_s, len(pending))
            _, pending_set = await asyncio.wait(pending, timeout=self.grace_s)
            pending = list(pending_set)
        # 3. detach: through the engine, so interrupted steps stay resumable and every
        # lease is released at once (the next start resumes without waiting for expiry);
        # a driver that does not stop in time is cancelled as a task (the engine still
        # treats its steps as detached and releases the leases).
        if pending:
            detached = self.engine.detach_all("the server is shutting down")
            log.warning(
                "detaching %d run(s) still in flight at shutdown; the next start resumes them: %s",
                len(detached),
                ", ".join(detached),
            )
            _, stuck = await asyncio.wait(pending, timeout=max(self.grace_s, 5.0))
            for task in stuck:
                task.cancel()
            if stuck:
                await asyncio.wait(stuck)
        # 4. finalise
        self._release.set()
        if self._supervisor is not None:
            try:
                await self._supervisor
            except BaseException as error:  # the group itself failed: report it below
                self._errors.append(error)
            self._supervisor = None
        # 5. re-raise
        if self._errors:
            errors, self._errors = self._errors, []
            raise BaseExceptionGroup("errors while driving runs", errors)

    # ----------------------------------------------------------------- runs

    def _check_accepting(self) -> None:
        if not self._accepting or self._group is None:
            raise ShuttingDown(
                "the server is shutting down and starts no new runs; retry once it is back"
            )

    def _spawn(self, run_id: RunId) -> None:
        self._check_accepting()
        assert self._group is not None
        if run_id in self._tasks:
            return
        self._tasks[run_id] = self._group.create_task(self._drive(run_id), name=f"run {run_id}")

    async def _drive(self, run_id: RunId) -> None:
        try:
            status = await self.engine.drive(run_id)
            if status.terminal:
                log.info("run %s finished: %s", run_id, status.value)
            else:
                log.info("run %s detached while %s; a restart resumes it", run_id, status.value)
                self._keep_ending(run_id, status)
        except RunBusy as busy:
            log.info("not driving run %s: %s", run_id, busy)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception("driving run %s failed", run_id)
            if not self._accepting:
                self._errors.append(error)
            else:
                self._keep_ending(run_id, error)
        finally:
            self._tasks.pop(run_id, None)

    def _keep_ending(self, run_id: RunId, ending: RunStatus | Exception) -> None:
        """Remember how a drive ended without finishing its run, for :meth:`wait`."""
        self._endings[run_id] = ending
        if len(self._endings) > _KEPT_ENDINGS:  # nobody waited for the oldest
            del self._endings[next(iter(self._endings))]

    async def start_run(self, workflow: str | WorkflowSpec, inputs: Mapping[str, str]) -> RunId:
        """Store a queued run and start driving it. ``workflow`` is the name of one of
        the project's workflows, or a spec built elsewhere (a file given by path, the
        planner's plan, a task), which needs no file in the project.

        Raises ``DefinitionError`` (unknown or invalid workflow),
        ``WorkflowInputError`` (inputs) or :class:`ShuttingDown`.
        """
        self._check_accepting()
        spec = self._project().workflow(workflow) if isinstance(workflow, str) else workflow
        run_id = await self.engine.create_run(spec, inputs)
        self._spawn(run_id)
        return run_id

    async def wait(self, run_id: RunId) -> RunRecord:
        """The run once it has finished (succeeded, failed or cancelled).

        A run this process drives is awaited directly; if its drive ends without
        finishing it (detached at shutdown or from the terminal) the unfinished record
        is returned, so check ``record.status.terminal``; if the drive crashed, its
        error is raised. A run driven elsewhere is polled every ``poll_s``. Cancelling
        the waiter never cancels the run. ``RunNotFound`` when there is no such run.
        """
        while True:
            task = self._tasks.get(run_id)
            if task is not None:
                await asyncio.wait([task])
            ending = self._endings.pop(run_id, None)
            if isinstance(ending, Exception):
                raise ending
            record = await self.store.get_run(run_id)
            if record.status.terminal or ending is not None:
                return record
            await asyncio.sleep(self.poll_s)

    async def resume_interrupted(self) -> list[RunId]:
        """Drive every unfinished run that no live process owns; return their ids."""
        resumed: list[RunId] = []
        for run_id, owner in await self.queries.unfinished():
            if run_id in self._tasks or owner == self.engine.owner:
                continue
            if owner is None or owner_is_dead(owner):
                self._spawn(run_id)
                resumed.append(run_id)
        if resumed:
            log.info("resuming %d interrupted run(s): %s", len(resumed), ", ".join(resumed))
        return resumed

    async def get(self, run_id: RunId) -> RunRecord:
        return await self.store.get_run(run_id)

    async def cancel(self, run_id: RunId, *, wait_s: float = 10.0) -> RunRecord:
        """Cancel a run; waits (up to ``wait_s``) for this process's driver to settle it."""
        record = await self.store.get_run(run_id)
        if record.status.terminal:
            raise Conflict(f"run {run_id} already {record.status.value}; nothing to cancel")
        await self.engine.cancel(run_id)
        task = self._tasks.get(run_id)
        if task is not None:
            await asyncio.wait([task], timeout=wait_s)
        return await self.store.get_run(run_id)

    async def resume(self, run_id: RunId) -> RunRecord:
        """Drive a run that nobody drives (e.g. after its process died)."""
        record = await self.store.get_run(run_id)
        if record.status.terminal:
            raise Conflict(f"run {run_id} already {record.status.value}; start a new run instead")
        if run_id not in self._tasks:
            owner = record.owner
            if owner is not None and owner != self.engine.owner and not owner_is_dead(owner):
                raise Conflict(
                    f"run {run_id} is being driven by {owner}; stop that process first or "
                    "wait for its lease to expire"
                )
            self._spawn(run_id)
        return await self.store.get_run(run_id)

    async def decide(
        self, run_id: RunId, step_id: StepId, decision: Decision, by: str, reason: str
    ) -> RunRecord:
        """Approve or reject a step waiting for approval (ApprovalError when it is not)."""
        record = await self.store.get_run(run_id)
        if step_id not in record.steps:
            raise NotFound(
                f"run {run_id} has no step {step_id!r}; steps: {', '.join(record.steps)}"
            )
        await self.engine.decide(run_id, step_id, decision, by, reason)
        return await self.store.get_run(run_id)
