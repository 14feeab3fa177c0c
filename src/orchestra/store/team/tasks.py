"""The task queue: tasks, their updates, and every move that ends or requeues one.

A move is a guarded ``UPDATE … WHERE status IN (sources)`` and a ``task_updates`` row
in one transaction. Ending an active task also gives its agent's slot back (and closes
its session) in that transaction, so an agent's load always equals the tasks it holds.
"""

from __future__ import annotations

import builtins
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, case, insert, select, update
from sqlalchemy.exc import IntegrityError

from orchestra.agents.lifecycle import AgentState
from orchestra.store.database import Database
from orchestra.store.team.agents import move_agent, record_transition
from orchestra.store.team.tables import agent_sessions, agents, task_updates, tasks
from orchestra.tasks.errors import IllegalTaskTransition, TaskNotFound
from orchestra.tasks.specs import TaskDraft
from orchestra.tasks.states import ACTIVE, TaskStatus, task_sources

_t = tasks.c
_a = agents.c

ERROR_AFTER = 3
"""Tasks failed in a row after which an agent goes to ``error`` (``[tasks] error_after``)."""


@dataclass(frozen=True, slots=True)
class TaskRow:
    id: str
    title: str
    description: str
    complexity: int
    capabilities: tuple[str, ...]
    priority: int
    workflow: str | None
    inputs: dict[str, str]
    idempotency_key: str | None
    status: TaskStatus
    agent: str | None
    run_id: str | None
    attempts: int
    max_attempts: int
    wait_reason: str | None
    error: dict[str, Any] | None
    created_by: str
    created_at: float
    updated_at: float
    assigned_at: float | None
    finished_at: float | None
    assignee: str | None = None
    """The one agent that may take it (a delegation by name)."""
    parent_run_id: str | None = None
    """The run whose step delegated it (``delegate``); None for a user's task."""
    parent_step_id: str | None = None


@dataclass(frozen=True, slots=True)
class TaskParent:
    """The step whose agent handed a task over with ``delegate``."""

    run_id: str
    step_id: str


@dataclass(frozen=True, slots=True)
class TaskUpdateRow:
    id: int
    task_id: str
    at: float
    kind: str
    source: str | None
    target: str | None
    note: str
    by: str


def task_row(row: Any) -> TaskRow:
    return TaskRow(
        row.id,
        row.title,
        row.description,
        row.complexity,
        tuple(json.loads(row.capabilities_json)),
        row.priority,
        row.workflow,
        json.loads(row.inputs_json),
        row.idempotency_key,
        TaskStatus(row.status),
        row.agent,
        row.run_id,
        row.attempts,
        row.max_attempts,
        row.wait_reason,
        None if row.error_json is None else json.loads(row.error_json),
        row.created_by,
        row.created_at,
        row.updated_at,
        row.assigned_at,
        row.finished_at,
        row.assignee,
        row.parent_run_id,
        row.parent_step_id,
    )


def record_update(
    conn: Connection,
    task_id: str,
    kind: str,
    *,
    by: str,
    now: float,
    source: str | None = None,
    target: str | None = None,
    note: str = "",
) -> None:
    conn.execute(
        insert(task_updates).values(
            task_id=task_id, at=now, kind=kind, source=source, target=target, note=note, by=by
        )
    )


def release_agent(
    conn: Connection,
    agent: str,
    task_id: str,
    outcome: str,
    now: float,
    *,
    by: str,
    error_after: int = ERROR_AFTER,
) -> None:
    """Give back the slot ``task_id`` held on ``agent``, close its session, and move the
    agent to ``idle`` when it holds nothing more. A failure extends the agent's streak
    (``error_after`` failures in a row put it in ``error`` until resumed); any other
    outcome ends it."""
    failed = outcome == "failed"
    row = conn.execute(
        update(agents)
        .where(and_(_a.name == agent, _a.active_tasks > 0))
        .values(
            active_tasks=_a.active_tasks - 1,
            last_active_at=now,
            updated_at=now,
            consecutive_failures=(_a.consecutive_failures + 1) if failed else 0,
            state=case(
                (and_(_a.state == AgentState.BUSY, _a.active_tasks == 1), AgentState.IDLE),
                else_=_a.state,
            ),
        )
        .returning(_a.state, _a.active_tasks, _a.consecutive_failures)
    ).first()
    if row is not None and row.active_tasks == 0 and row.state == AgentState.IDLE:
        record_transition(
            conn, agent, AgentState.BUSY, AgentState.IDLE, by, f"task {task_id} {outcome}", now
        )
    if (
        row is not None
        and failed
        and row.consecutive_failures >= error_after
        and AgentState(row.state) in (AgentState.IDLE, AgentState.BUSY)
    ):
        move_agent(
            conn,
            agent,
            AgentState.ERROR,
            by=by,
            reason=f"{row.consecutive_failures} tasks failed in a row; "
            f"`orchestra agents resume {agent}` when fixed",
            now=now,
        )
    s = agent_sessions.c
    conn.execute(
        update(agent_sessions)
        .where(and_(s.task_id == task_id, s.agent == agent, s.ended_at.is_(None)))
        .values(ended_at=now, outcome=outcome)
    )


class TaskRepository:
    """Rows of ``tasks`` and ``task_updates``."""

    def __init__(self, database: Database, *, error_after: int = ERROR_AFTER) -> None:
        self.database = database
        self.error_after = error_after

    async def create(
        self, draft: TaskDraft, *, by: str, parent: TaskParent | None = None
    ) -> tuple[TaskRow, bool]:
        """Queue a task; with an idempotency key already used, return that task instead.
        The flag says whether this call created it. ``parent`` is the step that
        delegated it."""
        now = time.time()
        task_id = uuid.uuid4().hex

        def work(conn: Connection) -> None:
            conn.execute(
                insert(tasks).values(
                    id=task_id,
                    title=draft.title,
                    description=draft.description,
                    complexity=draft.complexity,
                    capabilities_json=json.dumps(list(draft.capabilities)),
                    priority=draft.priority,
                    workflow=draft.workflow,
                    inputs_json=json.dumps(draft.inputs),
                    idempotency_key=draft.idempotency_key,
                    status=TaskStatus.QUEUED,
                    attempts=0,
                    max_attempts=draft.max_attempts,
                    assignee=draft.agent,
                    parent_run_id=None if parent is None else parent.run_id,
                    parent_step_id=None if parent is None else parent.step_id,
                    created_by=by,
                    created_at=now,
                    updated_at=now,
                )
            )
            record_update(conn, task_id, "status", by=by, now=now, target=TaskStatus.QUEUED)

        try:
            await self.database.write(work)
        except IntegrityError:
            if draft.idempotency_key is None:
                raise
            existing = await self._by_key(draft.idempotency_key)
            if existing is None:
                raise
            return existing, False
        return await self.get(task_id), True

    async def _by_key(self, key: str) -> TaskRow | None:
        def work(conn: Connection) -> Any:
            return conn.execute(select(tasks).where(_t.idempotency_key == key)).first()

        row = await self.database.read(work)
        return None if row is None else task_row(row)

    async def get(self, task_id: str) -> TaskRow:
        def work(conn: Connection) -> Any:
            return conn.execute(select(tasks).where(_t.id == task_id)).first()

        row = await self.database.read(work)
        if row is None:
            raise TaskNotFound(task_id)
        return task_row(row)

    async def resolve_id(self, prefix: str) -> str:
        """The task whose id starts with ``prefix`` (listings print a short id)."""

        def work(conn: Connection) -> builtins.list[str]:
            query = select(_t.id).where(_t.id.startswith(prefix, autoescape=True)).limit(2)
            return [row.id for row in conn.execute(query)]

        matches = await self.database.read(work) if prefix else []
        if len(matches) != 1:
            raise TaskNotFound(prefix)
        return matches[0]

    async def list(
        self,
        *,
        status: TaskStatus | None = None,
        agent: str | None = None,
        limit: int = 100,
        before: float | None = None,
        parent_run: str | None = None,
    ) -> list[TaskRow]:
        """Tasks newest first, optionally of one status or agent, or the ones a run's steps
        delegated (``parent_run``: how the run page shows each step's children)."""

        def work(conn: Connection) -> builtins.list[Any]:
            query = select(tasks).order_by(_t.created_at.desc(), _t.id.desc()).limit(limit)
            if status is not None:
                query = query.where(_t.status == status)
            if agent is not None:
                query = query.where(_t.agent == agent)
            if before is not None:
                query = query.where(_t.created_at < before)
            if parent_run is not None:
                query = query.where(_t.parent_run_id == parent_run)
            return list(conn.execute(query))

        return [task_row(row) for row in await self.database.read(work)]

    async def updates(
        self, task_id: str | None = None, *, after: int = 0, limit: int = 500
    ) -> builtins.list[TaskUpdateRow]:
        """Updates oldest first from ``after`` (the ``tasks`` channel's replay cursor)."""
        u = task_updates.c

        def work(conn: Connection) -> builtins.list[Any]:
            query = select(task_updates).where(u.id > after).order_by(u.id).limit(limit)
            if task_id is not None:
                query = query.where(u.task_id == task_id)
            return list(conn.execute(query))

        return [
            TaskUpdateRow(r.id, r.task_id, r.at, r.kind, r.source, r.target, r.note, r.by)
            for r in await self.database.read(work)
        ]

    async def move(
        self,
        task_id: str,
        target: TaskStatus,
        *,
        by: str,
        note: str = "",
        error: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> TaskRow:
        """Move a task as its state machine allows, in one transaction: a phase the agent
        reports, an end (complete, failed, cancelled — giving the agent's slot back), or a
        retry (failed/cancelled → queued)."""
        now = time.time()

        def work(conn: Connection) -> None:
            row = conn.execute(select(_t.status, _t.agent).where(_t.id == task_id)).first()
            if row is None:
                raise TaskNotFound(task_id)
            source = TaskStatus(row.status)
            values: dict[str, Any] = {"status": target, "updated_at": now}
            if target.terminal:
                values["finished_at"] = now
            if error is not None:
                values["error_json"] = json.dumps(dict(error))
            if run_id is not None:
                values["run_id"] = run_id
            if target == TaskStatus.QUEUED:  # a retry starts over
                values |= {
                    "agent": None,
                    "run_id": None,
                    "attempts": 0,
                    "error_json": None,
                    "finished_at": None,
                    "assigned_at": None,
                }
            result = conn.execute(
                update(tasks)
                .where(
                    and_(_t.id == task_id, _t.status == source, _t.status.in_(task_sources(target)))
                )
                .values(**values)
            )
            if result.rowcount != 1:
                raise IllegalTaskTransition(task_id, source, target)
            kind = "phase" if source in ACTIVE and target in ACTIVE else "status"
            record_update(
                conn, task_id, kind, by=by, now=now, source=source, target=target, note=note
            )
            if source in ACTIVE and not target.active and row.agent is not None:
                outcome = "requeued" if target == TaskStatus.QUEUED else str(target)
                release_agent(
                    conn, row.agent, task_id, outcome, now, by=by, error_after=self.error_after
                )

        await self.database.write(work)
        return await self.get(task_id)

    async def note(self, task_id: str, note: str, *, by: str) -> None:
        """A progress note that changes no state."""
        now = time.time()

        def work(conn: Connection) -> None:
            if conn.execute(select(_t.id).where(_t.id == task_id)).first() is None:
                raise TaskNotFound(task_id)
            record_update(conn, task_id, "note", by=by, now=now, note=note)

        await self.database.write(work)

    async def link_run(self, task_id: str, run_id: str, *, by: str) -> None:
        """Record the run an active task became (once per attempt)."""
        now = time.time()

        def work(conn: Connection) -> None:
            result = conn.execute(
                update(tasks)
                .where(and_(_t.id == task_id, _t.run_id.is_(None), _t.status.in_(ACTIVE)))
                .values(run_id=run_id, updated_at=now)
            )
            if result.rowcount == 1:
                record_update(conn, task_id, "note", by=by, now=now, note=f"run {run_id}")

        await self.database.write(work)

    async def finish_from_run(
        self,
        task_id: str,
        target: TaskStatus,
        *,
        by: str,
        error: Mapping[str, Any] | None = None,
    ) -> TaskRow:
        """End an active task as its run ended (complete or failed)."""
        return await self.move(task_id, target, by=by, error=error, note="its run ended")

    async def active(self, *, agent: str | None = None) -> builtins.list[TaskRow]:
        """Tasks an agent holds (assigned or in a phase), optionally of one agent."""

        def work(conn: Connection) -> builtins.list[Any]:
            query = select(tasks).where(_t.status.in_(ACTIVE))
            if agent is not None:
                query = query.where(_t.agent == agent)
            return builtins.list(conn.execute(query))

        return [task_row(row) for row in await self.database.read(work)]

    async def requeue(self, task_id: str, *, by: str, note: str, exhausted: bool) -> TaskRow:
        """Give a task whose agent went away back to the queue — or fail it when its
        attempts are used up. Its attempt count is kept (it counts toward the limit)."""
        now = time.time()
        target = TaskStatus.FAILED if exhausted else TaskStatus.QUEUED

        def work(conn: Connection) -> None:
            row = conn.execute(
                select(_t.status, _t.agent, _t.attempts).where(_t.id == task_id)
            ).first()
            if row is None:
                raise TaskNotFound(task_id)
            source = TaskStatus(row.status)
            if source not in ACTIVE:
                raise IllegalTaskTransition(task_id, source, target)
            values: dict[str, Any] = {"status": target, "updated_at": now, "agent": None}
            values |= {"run_id": None, "assigned_at": None}
            if exhausted:
                values |= {
                    "finished_at": now,
                    "agent": row.agent,
                    "error_json": json.dumps(
                        {
                            "type": "attempts_exhausted",
                            "message": f"{note}; gave up after {row.attempts} attempts",
                            "retryable": False,
                        }
                    ),
                }
            result = conn.execute(
                update(tasks).where(and_(_t.id == task_id, _t.status == source)).values(**values)
            )
            if result.rowcount != 1:
                raise IllegalTaskTransition(task_id, source, target)
            record_update(
                conn, task_id, "status", by=by, now=now, source=source, target=target, note=note
            )
            if row.agent is not None:
                release_agent(
                    conn, row.agent, task_id, "lost", now, by=by, error_after=self.error_after
                )

        await self.database.write(work)
        return await self.get(task_id)

    async def for_run(self, run_id: str) -> TaskRow | None:
        """The task a run belongs to, if any (``task.update`` finds its task so)."""

        def work(conn: Connection) -> Any:
            return conn.execute(select(tasks).where(_t.run_id == run_id)).first()

        row = await self.database.read(work)
        return None if row is None else task_row(row)
