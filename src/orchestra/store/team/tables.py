"""Tables of agents and tasks (migration ``0005_agents_tasks`` creates them).

Counters a dispatcher decides on (``agents.active_tasks``) are columns updated with a
guard in the same statement (``… WHERE active_tasks < max_tasks``), so the database,
not a process's memory, decides the race. ``agent_transitions.id`` and
``task_updates.id`` grow monotonically: they are the replay cursors of the ``agents``
and ``tasks`` channels.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text

from orchestra.store.tables import metadata

agents = Table(
    "agents",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("description", Text, nullable=False, default=""),
    Column("capabilities_json", Text, nullable=False, default="[]"),
    Column("complexity_min", Integer, nullable=False, default=1),
    Column("complexity_max", Integer, nullable=False, default=10),
    Column("max_tasks", Integer, nullable=False, default=1),
    Column("weight", Float, nullable=False, default=1.0),
    Column("model", String(200), nullable=False, default="default"),
    # Where the definition came from: a project-relative file path, or "api".
    Column("source", String(500), nullable=False),
    Column("spec_hash", String(64), nullable=False),
    # The AgentSpec as JSON for agents registered through the API (no file); else NULL.
    Column("spec_json", Text),
    Column("state", String(16), nullable=False),
    Column("active_tasks", Integer, nullable=False, default=0),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_active_at", Float),
    Column("heartbeat_owner", String(200)),
    Column("heartbeat_at", Float),
    Column("registered_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

agent_transitions = Table(
    "agent_transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("agent", String(100), nullable=False),
    Column("at", Float, nullable=False),
    Column("source", String(16)),
    Column("target", String(16), nullable=False),
    Column("by", String(200), nullable=False),
    Column("reason", Text, nullable=False, default=""),
)
Index("ix_agent_transitions_agent", agent_transitions.c.agent, agent_transitions.c.id)

agent_sessions = Table(
    "agent_sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("agent", String(100), nullable=False),
    Column("task_id", String(32), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("outcome", String(16)),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("cost_usd", Float, nullable=False, default=0.0),
)
Index("ix_agent_sessions_agent", agent_sessions.c.agent, agent_sessions.c.started_at)
Index("ix_agent_sessions_task", agent_sessions.c.task_id)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("complexity", Integer, nullable=False),
    Column("capabilities_json", Text, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("workflow", String(200)),
    Column("inputs_json", Text, nullable=False),
    Column("idempotency_key", String(200), unique=True),
    Column("status", String(16), nullable=False),
    Column("agent", String(100)),
    Column("run_id", String(32)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    # Why a queued task is still waiting ("no agent has capability 'sheets'").
    Column("wait_reason", Text),
    Column("error_json", Text),
    Column("created_by", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("assigned_at", Float),
    Column("finished_at", Float),
    # Delegation (migration 0011): the one agent that may take it, and the step that
    # handed it over (the ``delegate`` tool); NULL for a task a user queued.
    Column("assignee", String(100)),
    Column("parent_run_id", String(32)),
    Column("parent_step_id", String(200)),
)
# The dispatcher's query: queued tasks, highest priority first, then oldest.
Index("ix_tasks_queue", tasks.c.status, tasks.c.priority, tasks.c.created_at)
Index("ix_tasks_agent", tasks.c.agent, tasks.c.status)
Index("ix_tasks_parent", tasks.c.parent_run_id, tasks.c.parent_step_id)

task_updates = Table(
    "task_updates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", String(32), nullable=False),
    Column("at", Float, nullable=False),
    # "status" (a state change), "phase" (the agent reported one) or "note".
    Column("kind", String(16), nullable=False),
    Column("source", String(16)),
    Column("target", String(16)),
    Column("note", Text, nullable=False, default=""),
    Column("by", String(200), nullable=False),
)
Index("ix_task_updates_task", task_updates.c.task_id, task_updates.c.id)
