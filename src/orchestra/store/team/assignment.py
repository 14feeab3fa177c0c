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
from dataclasses import dataclass, field, replace

from sqlalchemy import Connection, and_, select, text, update

from orchestra.agents.assignment import Need, Strategy, why_waiting
from orchestra.agents.lifecycle import AgentState
from orchestra.store.database import Database
from orchestra.store.team.agents import AgentRow, agent_row, open_session, record_transition
from orchestra.store.team.tables import agents, tasks
from orchestra.store.team.tasks import record_update
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


def _take_slot(conn: Connection, agent: str, now: float) -> int | None:
    """Take one of ``agent``'s slots if it still has room; its new load, else None."""
    return conn.execute(
        update(agents)
        .where(
            and_(
                _a.name == agent,
                _a.active_tasks < _a.max_tasks,
                _a.state.in_((AgentState.IDLE, AgentState.BUSY)),
            )
        )
        .values(
            active_tasks=_a.active_tasks + 1,
            state=AgentState.BUSY,
            last_active_at=now,
            updated_at=now,
        )
        .returning(_a.active_tasks)
    ).scalar()


def _assign(
    conn: Connection, strategy: Strategy, limit: int, by: str, now: float
) -> AssignmentBatch:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ASSIGNMENT_LOCK})
    query = (
        select(_t.id, _t.complexity, _t.capabilities_json, _t.wait_reason, _t.created_at)
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
    for task in queued:
        need = Need(task.complexity, tuple(json.loads(task.capabilities_json)))
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
        moved = conn.execute(
            update(tasks)
            .where(and_(_t.id == task.id, _t.status == TaskStatus.QUEUED))
            .values(
                status=TaskStatus.ASSIGNED,
                agent=taker.name,
                attempts=_t.attempts + 1,
                assigned_at=now,
                updated_at=now,
                wait_reason=None,
            )
            .returning(_t.attempts)
        ).scalar()
        assert moved is not None, "a queued task read under lock left the queue"
        record_update(
            conn,
            task.id,
            "status",
            by=by,
            now=now,
            source=TaskStatus.QUEUED,
            target=TaskStatus.ASSIGNED,
            note=f"assigned to {taker.name} ({strategy.name})",
        )
        session = open_session(conn, taker.name, task.id, now)
        strategy.chose(taker.name)
        batch.assigned.append(Assigned(task.id, taker.name, session, moved, task.created_at, now))
    return batch


def _replace_load(agent: AgentRow, load: int, now: float) -> AgentRow:
    return replace(agent, active_tasks=load, state=AgentState.BUSY, last_active_at=now)


async def assign_batch(
    database: Database, strategy: Strategy, *, limit: int = 200, by: str = "dispatcher"
) -> AssignmentBatch:
    """Assign up to ``limit`` queued tasks in one transaction (see the module docstring)."""
    now = time.time()
    return await database.write(lambda conn: _assign(conn, strategy, limit, by, now))
