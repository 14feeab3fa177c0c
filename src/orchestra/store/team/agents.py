"""Registered agents: their profile, lifecycle state, transitions, heartbeats and sessions.

Every state change is one guarded ``UPDATE … WHERE state IN (sources)`` plus a row in
``agent_transitions`` in the same transaction: the history can never disagree with the
state, and a move the lifecycle forbids fails in SQL even when two processes race.
"""

from __future__ import annotations

import builtins
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from orchestra.agents.lifecycle import AgentState, IllegalAgentTransition, agent_sources
from orchestra.errors import NotFoundMistake
from orchestra.store.database import Database
from orchestra.store.team.tables import agent_sessions, agent_transitions, agents

_a = agents.c


class AgentNotFound(NotFoundMistake):
    code = "agent_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"no agent named {name!r}; list them with `orchestra agents list`")
        self.name = name


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """What registering an agent stores: who it is and which work it takes."""

    name: str
    source: str
    spec_hash: str
    description: str = ""
    capabilities: tuple[str, ...] = ()
    complexity_min: int = 1
    complexity_max: int = 10
    max_tasks: int = 1
    weight: float = 1.0
    model: str = "default"
    spec_json: str | None = None
    """The whole definition, for an agent with no file (registered through the API)."""


@dataclass(frozen=True, slots=True)
class AgentRow:
    name: str
    description: str
    capabilities: tuple[str, ...]
    complexity_min: int
    complexity_max: int
    max_tasks: int
    weight: float
    model: str
    source: str
    spec_hash: str
    state: AgentState
    active_tasks: int
    consecutive_failures: int
    last_active_at: float | None
    heartbeat_owner: str | None
    heartbeat_at: float | None
    registered_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class TransitionRow:
    id: int
    agent: str
    at: float
    source: AgentState | None
    target: AgentState
    by: str
    reason: str


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: str
    agent: str
    task_id: str
    started_at: float
    ended_at: float | None
    outcome: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


def agent_row(row: Any) -> AgentRow:
    return AgentRow(
        row.name,
        row.description,
        tuple(json.loads(row.capabilities_json)),
        row.complexity_min,
        row.complexity_max,
        row.max_tasks,
        row.weight,
        row.model,
        row.source,
        row.spec_hash,
        AgentState(row.state),
        row.active_tasks,
        row.consecutive_failures,
        row.last_active_at,
        row.heartbeat_owner,
        row.heartbeat_at,
        row.registered_at,
        row.updated_at,
    )


def _profile_values(profile: AgentProfile) -> dict[str, Any]:
    return {
        "description": profile.description,
        "capabilities_json": json.dumps(sorted(set(profile.capabilities))),
        "complexity_min": profile.complexity_min,
        "complexity_max": profile.complexity_max,
        "max_tasks": profile.max_tasks,
        "weight": profile.weight,
        "model": profile.model,
        "source": profile.source,
        "spec_hash": profile.spec_hash,
        "spec_json": profile.spec_json,
    }


def record_transition(
    conn: Connection,
    agent: str,
    source: AgentState | None,
    target: AgentState,
    by: str,
    reason: str,
    now: float,
) -> None:
    """Store one lifecycle move (called in the transaction that makes it)."""
    conn.execute(
        insert(agent_transitions).values(
            agent=agent, at=now, source=source, target=target, by=by, reason=reason
        )
    )


def move_agent(
    conn: Connection,
    name: str,
    target: AgentState,
    *,
    by: str,
    reason: str,
    now: float,
    extra: dict[str, Any] | None = None,
) -> AgentState:
    """Move ``name`` to ``target`` if the lifecycle allows it from where it is; return the
    state it left. Raises :class:`IllegalAgentTransition` or :class:`AgentNotFound`."""
    current = conn.execute(select(_a.state).where(_a.name == name)).scalar()
    if current is None:
        raise AgentNotFound(name)
    source = AgentState(current)
    result = conn.execute(
        update(agents)
        .where(and_(_a.name == name, _a.state.in_(agent_sources(target)), _a.state == source))
        .values(state=target, updated_at=now, **(extra or {}))
    )
    if result.rowcount != 1:
        raise IllegalAgentTransition(name, source, target)
    record_transition(conn, name, source, target, by, reason, now)
    return source


class AgentRepository:
    """Rows of ``agents``, ``agent_transitions`` and ``agent_sessions``."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def sync(self, profiles: Sequence[AgentProfile], *, by: str = "project") -> list[str]:
        """Register new agents and refresh changed ones (by ``spec_hash``); bring
        ``offline`` agents of the project back to ``idle``. Returns the names changed."""
        now = time.time()

        def work(conn: Connection) -> list[str]:
            existing = {
                row.name: row
                for row in conn.execute(
                    select(_a.name, _a.spec_hash, _a.state).where(
                        _a.name.in_([p.name for p in profiles])
                    )
                )
            }
            changed: list[str] = []
            for profile in profiles:
                row = existing.get(profile.name)
                if row is None:
                    conn.execute(
                        insert(agents).values(
                            name=profile.name,
                            state=AgentState.IDLE,
                            active_tasks=0,
                            consecutive_failures=0,
                            registered_at=now,
                            updated_at=now,
                            **_profile_values(profile),
                        )
                    )
                    record_transition(
                        conn, profile.name, None, AgentState.IDLE, by, "registered", now
                    )
                    changed.append(profile.name)
                    continue
                if row.spec_hash != profile.spec_hash:
                    conn.execute(
                        update(agents)
                        .where(_a.name == profile.name)
                        .values(updated_at=now, **_profile_values(profile))
                    )
                    changed.append(profile.name)
                if row.state == AgentState.OFFLINE:
                    move_agent(
                        conn,
                        profile.name,
                        AgentState.IDLE,
                        by=by,
                        reason="back online",
                        now=now,
                        extra={"active_tasks": 0},
                    )
                    changed.append(profile.name)
            return changed

        return await self.database.write(work)

    async def register(self, profile: AgentProfile, *, by: str) -> AgentRow:
        """Register (or update) one agent at run time, e.g. through the API."""
        await self.sync([profile], by=by)
        return await self.get(profile.name)

    async def spec_json(self, name: str) -> str | None:
        """The stored definition of an agent registered through the API (None for files)."""

        def work(conn: Connection) -> str | None:
            row = conn.execute(select(_a.spec_json).where(_a.name == name)).first()
            return None if row is None else row.spec_json

        return await self.database.read(work)

    async def get(self, name: str) -> AgentRow:
        def work(conn: Connection) -> Any:
            return conn.execute(select(agents).where(_a.name == name)).first()

        row = await self.database.read(work)
        if row is None:
            raise AgentNotFound(name)
        return agent_row(row)

    async def list(self, *, include_retired: bool = False) -> list[AgentRow]:
        def work(conn: Connection) -> builtins.list[Any]:
            query = select(agents).order_by(_a.name)
            if not include_retired:
                query = query.where(_a.state != AgentState.RETIRED)
            return list(conn.execute(query))

        return [agent_row(row) for row in await self.database.read(work)]

    async def transition(
        self, name: str, target: AgentState, *, by: str, reason: str = ""
    ) -> AgentRow:
        """Pause, resume, retire… as the lifecycle allows; resuming from ``error``
        clears the failure streak."""
        now = time.time()
        extra = {"consecutive_failures": 0} if target == AgentState.IDLE else None

        def work(conn: Connection) -> None:
            current = conn.execute(select(_a.state, _a.active_tasks).where(_a.name == name))
            row = current.first()
            if row is None:
                raise AgentNotFound(name)
            resumed = target
            if target == AgentState.IDLE and row.active_tasks > 0:
                resumed = AgentState.BUSY  # resuming an agent that still holds work
            move_agent(conn, name, resumed, by=by, reason=reason, now=now, extra=extra)

        await self.database.write(work)
        return await self.get(name)

    async def heartbeat(self, names: Iterable[str], owner: str) -> None:
        """Say that ``owner`` (a live process) is working for these agents now."""
        listed = list(names)
        if not listed:
            return
        now = time.time()

        def work(conn: Connection) -> None:
            conn.execute(
                update(agents)
                .where(_a.name.in_(listed))
                .values(heartbeat_owner=owner, heartbeat_at=now)
            )

        await self.database.write(work)

    async def transitions(
        self, name: str | None = None, *, after: int = 0, limit: int = 500
    ) -> builtins.list[TransitionRow]:
        """Lifecycle history, oldest first from ``after`` (the ``agents`` channel's cursor)."""
        t = agent_transitions.c

        def work(conn: Connection) -> builtins.list[Any]:
            query = select(agent_transitions).where(t.id > after).order_by(t.id).limit(limit)
            if name is not None:
                query = query.where(t.agent == name)
            return list(conn.execute(query))

        return [
            TransitionRow(
                row.id,
                row.agent,
                row.at,
                None if row.source is None else AgentState(row.source),
                AgentState(row.target),
                row.by,
                row.reason,
            )
            for row in await self.database.read(work)
        ]

    async def sessions(self, name: str, *, limit: int = 100) -> builtins.list[SessionRow]:
        """The agent's sessions, newest first."""
        s = agent_sessions.c

        def work(conn: Connection) -> builtins.list[Any]:
            return list(
                conn.execute(
                    select(agent_sessions)
                    .where(s.agent == name)
                    .order_by(s.started_at.desc())
                    .limit(limit)
                )
            )

        return [session_row(row) for row in await self.database.read(work)]

    async def record_session_usage(
        self, agent: str, task_id: str, prompt_tokens: int, completion_tokens: int, cost_usd: float
    ) -> None:
        """What the task's run cost, on the agent's session for that task."""
        s = agent_sessions.c

        def work(conn: Connection) -> None:
            conn.execute(
                update(agent_sessions)
                .where(and_(s.agent == agent, s.task_id == task_id))
                .values(
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    cost_usd=cost_usd,
                )
            )

        await self.database.write(work)

    async def success_rate(self, name: str) -> tuple[int, int]:
        """(complete, finished) sessions of the agent."""
        s = agent_sessions.c

        def work(conn: Connection) -> tuple[int, int]:
            rows = conn.execute(
                select(s.outcome, func.count())
                .where(and_(s.agent == name, s.ended_at.is_not(None)))
                .group_by(s.outcome)
            )
            counts = {row[0]: row[1] for row in rows}
            return counts.get("complete", 0), sum(counts.values())

        return await self.database.read(work)


def session_row(row: Any) -> SessionRow:
    return SessionRow(
        row.id,
        row.agent,
        row.task_id,
        row.started_at,
        row.ended_at,
        row.outcome,
        row.prompt_tokens,
        row.completion_tokens,
        row.cost_usd,
    )


def open_session(conn: Connection, agent: str, task_id: str, now: float) -> str:
    session_id = uuid.uuid4().hex
    conn.execute(
        insert(agent_sessions).values(
            id=session_id,
            agent=agent,
            task_id=task_id,
            started_at=now,
            prompt_tokens=0,
            completion_tokens=0,
            cost_usd=0.0,
        )
    )
    return session_id
