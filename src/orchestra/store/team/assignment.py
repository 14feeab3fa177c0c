"""Atomic assignment: queued tasks to agents with room, in one transaction per batch.

The batch reads the queue (highest priority, then oldest) and the agents, orders the
suited agents with room by the strategy, and takes a slot with a guarded update::

    UPDATE agents SET active_tasks = active_tasks + 1 …
     WHERE name = :agent AND active_tasks < max_tasks AND state IN ('idle', 'busy')

then moves the task with ``… WHERE status = 'queued'``. SQLite has one writer at a time.
On PostgreSQL a batch first takes a transaction-level advisory lock, so batches of
concurrent dispatchers run one after another: a batch locks several agent rows, and two
batches locking them in different orders deadlock (the race test found it). A batch is
a few milliseconds, so this costs little; finishing tasks does not take the lock, and
the guarded updates still re-check against the committed rows (READ COMMITTED
re-evaluates the ``WHERE`` after a row-lock wait). Either way a task is never given to two agents and no agent exceeds
``max_tasks``; ``tests/store/test_assignment_race.py`` races four processes to show it.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import ClassVar

from sqlalchemy import Connection, and_, bindparam, func, insert, select, text, update

from orchestra.agents.assignment import Need, Strategy, why_waiting
from orchestra.agents.lifecycle import AgentState
from orchestra.errors import RuntimeFailure
from orchestra.store.database import Database
from orchestra.store.prepared import Prepared
from orchestra.store.team.agents import AgentRow, agent_row, record_transition
from orchestra.store.team.tables import agent_sessions, agents, task_updates, tasks
from orchestra.tasks.states import TaskStatus

_t = tasks.c
_a = agents.c
_ASSIGNMENT_LOCK = 7242020
"""PostgreSQL advisory lock key serialising assignment batches (migrations use 7242019)."""


@dataclass(frozen=True, slots=True)
class Assigned:
    task_id: str
    agent: str
    session_id: str
    attempt: int
    queued_at: float
    assigned_at: float


@dataclass(frozen=True, slots=True)
class AssignmentBatch:
    assigned: list[Assigned] = field(default_factory=list)
    waiting: dict[str, str] = field(default_factory=dict)
    """Tasks left queued in this batch, with the reason."""


class QueueChanged(RuntimeFailure):
    """A task of the batch was cancelled while it was being assigned: the batch rolls
    back whole and the next round assigns again."""

    code: ClassVar[str] = "queue_changed"
    retryable = True


_TAKE_SLOT = Prepared(
    update(agents)
    .where(
        and_(
            _a.name == bindparam("taker"),
            _a.active_tasks < _a.max_tasks,
            (_a.state == AgentState.IDLE) | (_a.state == AgentState.BUSY),
        )
    )
    .values(
        active_tasks=_a.active_tasks + 1,
        state=AgentState.BUSY,
        last_active_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    .returning(_a.active_tasks)
)
"""Compiled once, run on the DBAPI cursor: SQLAlchemy's per-execution work cost
several times what the database needs for it (benchmarks/tasks.py)."""


def _take_slot(conn: Connection, agent: str, now: float) -> int | None:
    """Take one of ``agent``'s slots if it still has room; its new load, else None."""
    rows = _TAKE_SLOT.rows(conn, {"taker": agent, "now": now})
    return int(rows[0][0]) if rows else None


def _assign(
    conn: Connection, strategy: Strategy, limit: int, by: str, now: float
) -> AssignmentBatch:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ASSIGNMENT_LOCK})
    query = (
        select(
            _t.id,
            _t.complexity,
            _t.capabilities_json,
            _t.wait_reason,
            _t.created_at,
            _t.attempts,
            _t.assignee,
        )
        .where(_t.status == TaskStatus.QUEUED)
        .order_by(_t.priority.desc(), _t.created_at, _t.id)
        .limit(limit)
    )
    queued = list(conn.execute(query))
    if not queued:
        return AssignmentBatch()
    pool: dict[str, AgentRow] = {
        row.name: agent_row(row) for row in conn.execute(select(agents).order_by(_a.name))
    }
    batch = AssignmentBatch()
    moves: list[dict[str, object]] = []
    history: list[dict[str, object]] = []
    sessions: list[dict[str, object]] = []
    for task in queued:
        need = Need(task.complexity, tuple(json.loads(task.capabilities_json)), task.assignee)
        taker: AgentRow | None = None
        for candidate in strategy.order(pool.values(), need):
            load = _take_slot(conn, candidate.name, now)
            if load is None:
                # Another dispatcher filled it or changed its state since we read it.
                pool[candidate.name] = agent_row(
                    conn.execute(select(agents).where(_a.name == candidate.name)).one()
                )
                continue
            if load == 1:
                record_transition(
                    conn, candidate.name, AgentState.IDLE, AgentState.BUSY, by,
                    f"took task {task.id}", now,
                )  # fmt: skip
            taker = candidate
            pool[candidate.name] = _replace_load(candidate, load, now)
            break
        if taker is None:
            reason = why_waiting(list(pool.values()), need)
            batch.waiting[task.id] = reason
            if reason != task.wait_reason:
                conn.execute(update(tasks).where(_t.id == task.id).values(wait_reason=reason))
            continue
        session = uuid.uuid4().hex
        moves.append({"tid": task.id, "agent": taker.name, "attempts": task.attempts + 1})
        history.append(
            {
                "task_id": task.id,
                "at": now,
                "kind": "status",
                "source": TaskStatus.QUEUED,
                "target": TaskStatus.ASSIGNED,
                "note": f"assigned to {taker.name} ({strategy.name})",
                "by": by,
            }
        )
        sessions.append(
            {
                "id": session,
                "agent": taker.name,
                "task_id": task.id,
                "started_at": now,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "cost_usd": 0.0,
            }
        )
        strategy.chose(taker.name)
        batch.assigned.append(
            Assigned(task.id, taker.name, session, task.attempts + 1, task.created_at, now)
        )
    if moves:
        # The rows of the batch in three statements, not three per task: a batch is one
        # transaction under the writer's lock, so nothing else assigns in between.
        conn.execute(
            update(tasks)
            .where(and_(_t.id == bindparam("tid"), _t.status == TaskStatus.QUEUED))
            .values(
                status=TaskStatus.ASSIGNED,
                agent=bindparam("agent"),
                attempts=bindparam("attempts"),
                assigned_at=now,
                updated_at=now,
                wait_reason=None,
            ),
            moves,
        )
        # Drivers do not all count the rows of an executemany: count them.
        moved = conn.execute(
            select(func.count())
            .select_from(tasks)
            .where(and_(_t.id.in_([m["tid"] for m in moves]), _t.assigned_at == now))
        ).scalar_one()
        if moved != len(moves):  # a task left the queue (cancelled) meanwhile: roll back
            raise QueueChanged(f"{len(moves) - moved} task(s) left the queue during assignment")
        conn.execute(insert(task_updates), history)
        conn.execute(insert(agent_sessions), sessions)
    return batch


def _replace_load(agent: AgentRow, load: int, now: float) -> AgentRow:
    return replace(agent, active_tasks=load, state=AgentState.BUSY, last_active_at=now)


async def assign_batch(
    database: Database, strategy: Strategy, *, limit: int = 200, by: str = "dispatcher"
) -> AssignmentBatch:
    """Assign up to ``limit`` queued tasks in one transaction (see the module docstring)."""
    now = time.time()
    return await database.write(lambda conn: _assign(conn, strategy, limit, by, now))
