"""The task service: keeps the project's agents registered, dispatches queued tasks,
turns each assigned task into a run, and ends the task when its run ends.

A task compiles to a run of the one engine (DESIGN.md): a one-step DAG with the
assigned agent, or the named workflow with the task's inputs. Everything durable is in
the store, so the service is a set of loops that can die at any moment:

* **dispatch**: assign queued tasks (one transaction per batch), then create each
  task's run under a run id derived from the task and its attempt — a crash between
  the two leaves nothing that the next pass cannot finish, because creating that run
  again finds it already there;
* **reconcile**: an active task whose run has ended becomes ``complete`` (run
  succeeded) or ``failed`` (with the run's error), giving its agent's slot back;
* **heartbeat**: the process says it still works for the agents holding the tasks
  whose runs it drives;
* **recover**: an agent whose heartbeat lapsed goes ``offline``; its unfinished tasks
  whose runs no live process drives are queued again (the attempt counted; past
  ``max_attempts`` they fail with the reason) and their old runs are cancelled.

A process that starts again after ``kill -9`` resumes its interrupted runs first
(``RunService.resume_interrupted``), so the tasks they belong to continue where they
stopped, never re-running a step that succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, and_, select

from orchestra.agents.assignment import Strategy
from orchestra.agents.lifecycle import AgentState
from orchestra.config.settings import ModelSelection, TasksSettings
from orchestra.definitions import Project
from orchestra.definitions.specs import AgentSpec
from orchestra.engine.ids import RunId, StepId, owner_is_dead
from orchestra.engine.states import RunStatus
from orchestra.engine.variables import resolve_inputs
from orchestra.runtime.errors import Conflict
from orchestra.runtime.model_selection import with_selected_models
from orchestra.runtime.runs import RunService
from orchestra.runtime.task_specs import RESULT_VAR, agent_profile, task_run_id, task_workflow
from orchestra.store.database import Database
from orchestra.store.tables import runs
from orchestra.store.team import AgentRepository, TaskRepository, assign_batch
from orchestra.store.team.agents import AgentRow, move_agent
from orchestra.store.team.tables import agents as agents_table
from orchestra.store.team.tables import tasks as tasks_table
from orchestra.store.team.tasks import TaskParent, TaskRow
from orchestra.tasks import TaskStatus
from orchestra.tasks.delegate import Delegation, make_delegate_tools
from orchestra.tasks.errors import TaskNotFound
from orchestra.tasks.specs import TaskDraft
from orchestra.tasks.states import ACTIVE
from orchestra.tasks.tool import make_task_update_tool
from orchestra.tasks.workspace import ensure_task_venv, open_task_workspace, share_workspace
from orchestra.tools.errors import ToolError
from orchestra.tools.protocol import Tool

if TYPE_CHECKING:
    from orchestra.runtime.container import Container

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Pass:
    """What one round of the service's loops did (for ``tasks work`` and the tests)."""

    assigned: int = 0
    started: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)


class TaskService:
    """Tasks of one process. ``start()`` runs the loops in the background of
    :meth:`serve`; ``run_once()`` does one round (``orchestra tasks work``)."""

    def __init__(
        self,
        database: Database,
        run_service: RunService,
        project: Callable[[], Project],
        settings: TasksSettings | None = None,
        *,
        workspaces: Path | None = None,
        selection: ModelSelection | None = None,
    ) -> None:
        self.settings = settings or TasksSettings()
        self.selection = selection or ModelSelection()
        """``[models.selection]``: the model each task's run uses."""
        self.workspaces = workspaces
        """Where task workspaces go (``[workspaces] root``); None: no workspace prepared."""
        self.database = database
        self.runs = run_service
        self.agents = AgentRepository(database)
        self.tasks = TaskRepository(database, error_after=self.settings.error_after)
        self._project = project
        self._strategy = Strategy(self.settings.strategy)
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._last_heartbeat = 0.0

    @classmethod
    def of(cls, container: Container) -> TaskService:
        """The service for a process's container, its ``task.update`` tool registered."""
        service = cls(
            container.database,
            container.runs,
            lambda: container.project,
            container.settings.tasks,
            workspaces=container.settings.workspaces.root,
            selection=container.settings.models.selection,
        )
        container.tools.register(service.update_tool(), replace=True)
        for delegate_tool in make_delegate_tools(service):
            container.tools.register(delegate_tool, replace=True)
        return service

    @property
    def owner(self) -> str:
        return self.runs.engine.owner

    # ------------------------------------------------------------------ tasks

    async def create(self, draft: TaskDraft, *, by: str) -> tuple[TaskRow, bool]:
        """Queue a task (idempotent by key) and wake the dispatcher."""
        if draft.workflow is not None:
            # An unknown workflow or a missing input is the creator's mistake: say so now,
            # not when an agent takes the task.
            resolve_inputs(self._project().workflow(draft.workflow), draft.inputs)
        task, created = await self.tasks.create(draft, by=by)
        self._wake.set()
        return task, created

    async def cancel(self, task_id: str, *, by: str) -> TaskRow:
        """Cancel a task; its run, if any, is cancelled too."""
        task = await self.tasks.get(task_id)
        moved = await self.tasks.move(task_id, TaskStatus.CANCELLED, by=by)
        if task.run_id is not None:
            with contextlib.suppress(Conflict):
                await self.runs.cancel(RunId(task.run_id), wait_s=0)
        return moved

    async def retry(self, task_id: str, *, by: str) -> TaskRow:
        """Queue a failed or cancelled task again, from its first attempt."""
        task = await self.tasks.move(task_id, TaskStatus.QUEUED, by=by, note="retry")
        self._wake.set()
        return task

    # ------------------------------------------------------------------ loops

    async def sync_agents(self) -> list[str]:
        project = self._project()
        return await self.agents.sync(
            [agent_profile(spec, project.root) for spec in project.agents.values()]
        )

    async def run_once(self) -> Pass:
        """One round: recover lapsed agents, reconcile ended runs, heartbeat, dispatch."""
        done = Pass()
        done.requeued = await self._recover()
        done.finished = await self._reconcile()
        await self._heartbeat()
        batch = await assign_batch(
            self.database, self._strategy, limit=self.settings.batch, by=self.owner
        )
        done.assigned = len(batch.assigned)
        for item in batch.assigned:
            await self._start(item.task_id)
            done.started.append(item.task_id)
        done.started += await self._start_orphans()
        return done

    async def idle(self) -> bool:
        """True when nothing is queued or held by an agent (``--until-idle``)."""

        def work(conn: Connection) -> bool:
            t = tasks_table.c
            busy = conn.execute(
                select(t.id)
                .where(t.status.in_((TaskStatus.QUEUED, *ACTIVE)))
                .where(t.wait_reason.is_(None) | t.status.in_(ACTIVE))
                .limit(1)
            ).first()
            return busy is None

        return await self.database.read(work)

    async def start(self) -> None:
        await self.sync_agents()
        self._loop = asyncio.create_task(self._serve(), name="orchestra-tasks")

    async def close(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None

    def wake(self) -> None:
        self._wake.set()

    async def _serve(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("task dispatch round failed; trying again")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)

    # ---------------------------------------------------------------- details

    async def _start(self, task_id: str) -> None:
        """Create (or find) the run of the task's current attempt and drive it."""
        task = await self.tasks.get(task_id)
        if not task.status.active or task.agent is None:
            return
        run_id = task_run_id(task.id, task.attempts)
        project = self._project()
        try:
            if task.workflow is not None:
                spec = project.workflow(task.workflow)
                inputs = resolve_inputs(spec, task.inputs)
            else:
                agent = await self._agent_spec(project, task.agent)
                spec = task_workflow(task, agent, project.root)
                inputs = {"TaskTitle": task.title, "TaskDescription": task.description}
            spec = with_selected_models(spec, task.complexity, self.selection)
            if not await self._run_exists(run_id):
                await self.runs.store.create_run(spec, inputs, run_id=run_id)
        except Exception as error:
            log.warning("task %s cannot start: %s", task.id, error)
            await self.tasks.move(
                task.id,
                TaskStatus.FAILED,
                by=self.owner,
                error={"type": type(error).__name__, "message": str(error), "retryable": False},
            )
            return
        await self.tasks.link_run(task.id, run_id, by=self.owner)
        await self._prepare_workspace(task, run_id)
        with contextlib.suppress(Conflict):
            await self.runs.resume(run_id)

    async def _prepare_workspace(self, task: TaskRow, run_id: RunId) -> None:
        """The task's folder, README checklist and (``[tasks] venv``) virtual
        environment, before its run's first step; the run's workspace links to it.
        A delegated task works in its parent run's folder instead (a task group
        shares one workspace; the ``files.*`` tools lock each file they change)."""
        if self.workspaces is None or task.agent is None:
            return
        if task.parent_run_id is not None:
            await asyncio.to_thread(
                share_workspace, self.workspaces, task.parent_run_id, str(run_id)
            )
            return
        workspace = await asyncio.to_thread(
            open_task_workspace,
            self.workspaces,
            task.agent,
            task.id,
            title=task.title,
            description=task.description,
            run_id=str(run_id),
        )
        if self.settings.venv:
            try:
                await ensure_task_venv(workspace)
            except ToolError as error:  # the run goes on; python.install will say why
                log.warning("task %s: no virtual environment: %s", task.id, error.message)

    async def delegate(self, draft: TaskDraft, *, by: str, run_id: str, step_id: str) -> Delegation:
        """Queue a task an agent's step hands over (``delegate``), recording that step as
        its parent, and wake the dispatcher."""
        task, _ = await self.tasks.create(draft, by=by, parent=TaskParent(run_id, step_id))
        self._wake.set()
        return Delegation(task.id, task.status.value, task.agent)

    async def delegation(self, task_id: str, *, run_id: str, wait_s: float) -> Delegation:
        """A delegated task's state once it ended, or after ``wait_s``. It polls the
        task row (every ``poll_seconds``, at most): the row is what any process's
        reconcile pass ends, so this works whoever drives the child's run."""
        deadline = time.monotonic() + wait_s
        every = min(self.settings.poll_seconds, 0.25)
        while True:
            task = await self.tasks.get(task_id)
            if task.parent_run_id != run_id:
                raise TaskNotFound(task_id)
            if task.status.terminal or time.monotonic() >= deadline:
                break
            await asyncio.sleep(min(every, max(deadline - time.monotonic(), 0.0)))
        if not task.status.terminal:
            return Delegation(task.id, task.status.value, task.agent)
        outputs: dict[str, str] = {}
        if task.run_id is not None and task.status is TaskStatus.COMPLETE:
            record = await self.runs.store.get_run(RunId(task.run_id))
            for step in record.definition.spec.steps:
                found = record.steps.get(StepId(step.id))
                if found is not None:
                    outputs.update(found.outputs)
        error = None
        if task.status is not TaskStatus.COMPLETE:
            error = str((task.error or {}).get("message") or task.status.value)
        result = outputs.get(RESULT_VAR) or "\n\n".join(outputs.values())
        return Delegation(task.id, task.status.value, task.agent, True, result, outputs, error)

    def update_tool(self) -> Tool:
        """``task.update`` for the tool registry of the process that drives task runs."""
        return make_task_update_tool(self)

    async def report_phase(
        self, run_id: str, phase: TaskStatus, note: str, *, by: str
    ) -> str | None:
        """A phase the agent of the task whose run this is reports (``task.update``)."""
        task = await self.tasks.for_run(run_id)
        if task is None:
            return None
        if task.status != phase:
            await self.tasks.move(task.id, phase, by=by, note=note)
        elif note:
            await self.tasks.note(task.id, note, by=by)
        return task.id

    async def _agent_spec(self, project: Project, name: str) -> AgentSpec:
        """The definition of an agent: its file, or what was registered through the API."""
        found = project.agent_named(name)
        if found is not None:
            return found
        stored = await self.agents.spec_json(name)
        if stored is None:
            raise LookupError(f"agent {name!r} is not in the project any more")
        return AgentSpec.model_validate_json(stored)

    async def register_agent(self, spec: AgentSpec, *, by: str) -> AgentRow:
        """Register an agent that has no file (``POST /api/v1/agents``); any process can
        run it, since its whole definition is stored."""
        project = self._project()
        if project.agent_named(spec.name) is not None:
            raise Conflict(f"agent {spec.name!r} is defined by a project file; edit the file")
        profile = agent_profile(spec, project.root)
        row = await self.agents.register(
            replace(profile, source="api", spec_json=spec.model_dump_json()), by=by
        )
        self._wake.set()
        return row

    async def _run_exists(self, run_id: RunId) -> bool:
        def work(conn: Connection) -> bool:
            return conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first() is not None

        return await self.database.read(work)

    async def _start_orphans(self) -> list[str]:
        """Active tasks with no run yet (a crash between assignment and run creation,
        or assigned by another dispatcher that died): start them here."""
        t = tasks_table.c

        def work(conn: Connection) -> list[str]:
            rows = conn.execute(
                select(t.id).where(and_(t.status.in_(ACTIVE), t.run_id.is_(None))).limit(100)
            )
            return [row.id for row in rows]

        started = []
        for task_id in await self.database.read(work):
            await self._start(task_id)
            started.append(task_id)
        return started

    async def _reconcile(self) -> list[str]:
        """End every active task whose run has ended, as its run ended."""
        t = tasks_table.c

        def work(conn: Connection) -> list[tuple[str, str, str | None]]:
            rows = conn.execute(
                select(t.id, runs.c.status, runs.c.error_json)
                .join(runs, runs.c.id == t.run_id)
                .where(
                    and_(
                        t.status.in_(ACTIVE),
                        runs.c.status.in_(
                            (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
                        ),
                    )
                )
            )
            return [(row[0], row[1], row[2]) for row in rows]

        finished = []
        for task_id, status, error_json in await self.database.read(work):
            target = TaskStatus.COMPLETE if status == RunStatus.SUCCEEDED else TaskStatus.FAILED
            error = None
            if target == TaskStatus.FAILED:
                error = {
                    "type": "run_" + status,
                    "message": f"its run {status}",
                    "retryable": False,
                    "run_error": error_json,
                }
            with contextlib.suppress(Exception):
                row = await self.tasks.finish_from_run(task_id, target, by=self.owner, error=error)
                finished.append(task_id)
                await self._record_usage(row)
        return finished

    async def _record_usage(self, task: TaskRow) -> None:
        """Tokens and cost of the task's run on its agent's session (the Agents page's)."""
        if task.run_id is None or task.agent is None:
            return
        usage = (await self.runs.store.get_run(RunId(task.run_id))).usage
        await self.agents.record_session_usage(
            task.agent, task.id, usage.prompt_tokens, usage.completion_tokens, usage.cost_usd
        )

    async def _heartbeat(self) -> None:
        now = time.monotonic()
        if now - self._last_heartbeat < self.settings.heartbeat_seconds:
            return
        self._last_heartbeat = now
        driven = set(self.runs.active)
        held = [row for row in await self.tasks.active() if row.run_id in driven]
        await self.agents.heartbeat({row.agent for row in held if row.agent}, self.owner)

    async def _recover(self) -> list[str]:
        """Agents with work whose heartbeat lapsed: offline, and their tasks requeued."""
        lapse = self.settings.lapse_seconds
        now = time.time()
        a = agents_table.c

        def lapsed(conn: Connection) -> list[tuple[str, str | None]]:
            rows = conn.execute(
                select(a.name, a.heartbeat_owner).where(
                    and_(
                        a.active_tasks > 0,
                        a.state.in_((AgentState.BUSY, AgentState.ERROR, AgentState.PAUSED)),
                        (a.heartbeat_at.is_(None) & (a.updated_at < now - lapse))
                        | (a.heartbeat_at < now - lapse),
                    )
                )
            )
            return [(row.name, row.heartbeat_owner) for row in rows]

        requeued: list[str] = []
        for name, owner in await self.database.read(lapsed):
            if owner == self.owner:
                continue
            held = await self.tasks.active(agent=name)
            if any([await self._run_alive(row.run_id) for row in held]):
                continue  # another live process drives its runs; its heartbeat is late
            requeued += await self._take_offline(name, owner, held)
        return requeued

    async def _run_alive(self, run_id: str | None) -> bool:
        if run_id is None or run_id in self.runs.active:
            return run_id is not None

        def work(conn: Connection) -> tuple[str, str | None, float | None] | None:
            row = conn.execute(
                select(runs.c.status, runs.c.owner, runs.c.lease_expires_at).where(
                    runs.c.id == run_id
                )
            ).first()
            return None if row is None else (row[0], row[1], row[2])

        found = await self.database.read(work)
        if found is None:
            return False
        status, owner, expires = found
        if RunStatus(status).terminal or owner is None or owner_is_dead(owner):
            return False
        return expires is not None and expires > time.time()

    async def _take_offline(self, name: str, owner: str | None, held: list[TaskRow]) -> list[str]:
        reason = f"no heartbeat from {owner or 'its process'} for {self.settings.lapse_seconds:g}s"

        def offline(conn: Connection) -> None:
            move_agent(
                conn, name, AgentState.OFFLINE, by=self.owner, reason=reason, now=time.time()
            )

        with contextlib.suppress(Exception):
            await self.database.write(offline)
        requeued = []
        for row in held:
            if row.run_id is not None:
                with contextlib.suppress(Exception):
                    await self.runs.engine.cancel(RunId(row.run_id))
            exhausted = row.attempts >= row.max_attempts
            await self.tasks.requeue(row.id, by=self.owner, note=reason, exhausted=exhausted)
            requeued.append(row.id)

        # Back to idle at once: the agent is a definition any live process can run.
        def back(conn: Connection) -> None:
            move_agent(
                conn,
                name,
                AgentState.IDLE,
                by=self.owner,
                reason=f"taken over by {self.owner}",
                now=time.time(),
                extra={"active_tasks": 0},
            )

        with contextlib.suppress(Exception):
            await self.database.write(back)
        self._wake.set()
        return requeued
