"""Tasks and workers: queue work, follow it, and steer the agents that take it.

``/agents`` (the catalog) describes agent *definitions*; ``/workers`` is the same
agents as registered workers of the task queue: lifecycle state, load, sessions.
Registering an agent that has no file is ``POST /workers`` (also ``POST /agents``).

Roles: viewers read; operators create, cancel and retry tasks and pause or resume
workers; admins register and retire them.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from orchestra.agents.lifecycle import AgentState
from orchestra.api import team_schemas as schemas
from orchestra.api.deps import Admin, Operator, Services, Viewer, audit
from orchestra.api.routes import ERRORS
from orchestra.definitions.specs import AgentSpec, ComplexityRange
from orchestra.runtime.tasks import TaskService
from orchestra.store.team.agents import AgentRow
from orchestra.store.team.tasks import TaskRow
from orchestra.tasks import TaskStatus
from orchestra.tasks.specs import TaskDraft
from orchestra.tasks.workspace import list_task_files

tasks_router = APIRouter(prefix="/tasks", tags=["tasks"], responses=ERRORS)
agents_router = APIRouter(prefix="/workers", tags=["workers"], responses=ERRORS)
register_router = APIRouter(prefix="/agents", tags=["agents"], responses=ERRORS)


def _task(row: TaskRow) -> schemas.Task:
    return schemas.Task.model_validate(dataclasses.asdict(row))


def _agent(row: AgentRow) -> schemas.Agent:
    data: dict[str, Any] = dataclasses.asdict(row)
    data["complexity"] = (row.complexity_min, row.complexity_max)
    return schemas.Agent.model_validate(data)


@tasks_router.post("", response_model=schemas.Task, status_code=201)
async def create_task(
    body: TaskDraft, who: Operator, services: Services, response: Response
) -> schemas.Task:
    """Queue a task. The same ``idempotency_key`` returns the first task (200)."""
    row, created = await services.tasks.create(body, by=who.name)
    if created:
        await audit(services, who, "task.create", row.id, {"title": row.title})
    else:
        response.status_code = 200
    return _task(row)


@tasks_router.get("", response_model=schemas.TaskPage)
async def list_tasks(
    who: Viewer,
    services: Services,
    status: schemas.TaskStatusName | None = None,
    agent: Annotated[str | None, Query(max_length=100)] = None,
    parent_run: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> schemas.TaskPage:
    """Tasks, newest first, optionally of one status or agent, or those the steps of
    ``parent_run`` delegated (each names its ``parent_step_id``)."""
    rows = await services.tasks.tasks.list(
        status=TaskStatus(status) if status else None,
        agent=agent,
        limit=limit,
        parent_run=parent_run,
    )
    return schemas.TaskPage(items=[_task(row) for row in rows])


@tasks_router.get("/{task_id}", response_model=schemas.TaskDetail)
async def get_task(task_id: str, who: Viewer, services: Services) -> schemas.TaskDetail:
    """A task with every update it had (moves and the agent's notes)."""
    row = await services.tasks.tasks.get(task_id)
    updates = await services.tasks.tasks.updates(task_id)
    return schemas.TaskDetail(
        **_task(row).model_dump(),
        updates=[schemas.TaskUpdate.model_validate(dataclasses.asdict(u)) for u in updates],
    )


@tasks_router.get("/{task_id}/files", response_model=schemas.TaskFiles)
async def task_files(task_id: str, who: Viewer, services: Services) -> schemas.TaskFiles:
    """The files in the task's workspace (``src/``, ``output/``, ``research/``, README)."""
    row = await services.tasks.tasks.get(task_id)
    if row.agent is None:
        return schemas.TaskFiles(workspace="", files=[])
    root = services.settings.workspaces.root
    found = await asyncio.to_thread(list_task_files, root, row.agent, row.id)
    return schemas.TaskFiles(
        workspace=f"{row.agent}/tasks/{row.id}",
        files=[schemas.TaskFile(path=path, size=size) for path, size in found],
    )


@tasks_router.post("/{task_id}/cancel", response_model=schemas.Task)
async def cancel_task(task_id: str, who: Operator, services: Services) -> schemas.Task:
    """Cancel a task that has not ended (409 when it has); its run is cancelled too."""
    row = await services.tasks.cancel(task_id, by=who.name)
    await audit(services, who, "task.cancel", task_id)
    return _task(row)


@tasks_router.post("/{task_id}/retry", response_model=schemas.Task)
async def retry_task(task_id: str, who: Operator, services: Services) -> schemas.Task:
    """Queue a failed or cancelled task again (409 otherwise)."""
    row = await services.tasks.retry(task_id, by=who.name)
    await audit(services, who, "task.retry", task_id)
    return _task(row)


@agents_router.get("", response_model=schemas.AgentPage)
async def list_agents(who: Viewer, services: Services, retired: bool = False) -> schemas.AgentPage:
    """Every registered agent with its live state and load."""
    rows = await services.tasks.agents.list(include_retired=retired)
    return schemas.AgentPage(items=[_agent(row) for row in rows])


@register_router.post("", response_model=schemas.Agent, status_code=201)
@agents_router.post("", response_model=schemas.Agent, status_code=201)
async def register_agent(
    body: schemas.RegisterAgent, who: Admin, services: Services
) -> schemas.Agent:
    """Register an agent that has no file (409 if a project file defines that name)."""
    spec = AgentSpec(
        name=body.name,
        model=body.model,
        system_prompt=body.instructions,
        description=body.description,
        capabilities=tuple(body.capabilities),
        complexity=ComplexityRange(min=body.complexity[0], max=body.complexity[1]),
        max_tasks=body.max_tasks,
        weight=body.weight,
        tools=tuple(body.tools),
        path=Path("api") / f"{body.name}.agent.md",
    )
    row = await services.tasks.register_agent(spec, by=who.name)
    await audit(services, who, "agent.register", body.name)
    return _agent(row)


@agents_router.get("/{name}", response_model=schemas.AgentDetail)
async def get_agent(name: str, who: Viewer, services: Services) -> schemas.AgentDetail:
    """An agent with its state history, sessions, success rate and current tasks."""
    return await _detail(services.tasks, name)


async def _detail(tasks: TaskService, name: str) -> schemas.AgentDetail:
    row = await tasks.agents.get(name)
    moves = await tasks.agents.transitions(name)
    sessions = await tasks.agents.sessions(name)
    succeeded, ended = await tasks.agents.success_rate(name)
    held = await tasks.tasks.active(agent=name)
    return schemas.AgentDetail(
        **_agent(row).model_dump(),
        transitions=[
            schemas.AgentTransition(
                at=m.at,
                source=m.source.value if m.source else None,
                target=m.target.value,
                by=m.by,
                reason=m.reason,
            )
            for m in moves
        ],
        sessions=[schemas.AgentSession.model_validate(dataclasses.asdict(s)) for s in sessions],
        succeeded=succeeded,
        ended=ended,
        current_tasks=[t.id for t in held],
    )


async def _move(
    tasks: TaskService, name: str, target: AgentState, who: str, reason: str
) -> schemas.Agent:
    row = await tasks.agents.transition(name, target, by=who, reason=reason)
    tasks.wake()
    return _agent(row)


MoveBody = Annotated[schemas.AgentMove | None, Body()]


@agents_router.post("/{name}/pause", response_model=schemas.Agent)
async def pause_agent(
    name: str, who: Operator, services: Services, body: MoveBody = None
) -> schemas.Agent:
    """Stop giving the agent new tasks; what it holds runs on."""
    moved = await _move(
        services.tasks, name, AgentState.PAUSED, who.name, body.reason if body else ""
    )
    await audit(services, who, "agent.pause", name)
    return moved


@agents_router.post("/{name}/resume", response_model=schemas.Agent)
async def resume_agent(
    name: str, who: Operator, services: Services, body: MoveBody = None
) -> schemas.Agent:
    """Let a paused, failing or offline agent take tasks again."""
    moved = await _move(
        services.tasks, name, AgentState.IDLE, who.name, body.reason if body else ""
    )
    await audit(services, who, "agent.resume", name)
    return moved


@agents_router.post("/{name}/retire", response_model=schemas.Agent)
async def retire_agent(
    name: str, who: Admin, services: Services, body: MoveBody = None
) -> schemas.Agent:
    """Retire the agent for good (it must hold no task)."""
    moved = await _move(
        services.tasks, name, AgentState.RETIRED, who.name, body.reason if body else ""
    )
    await audit(services, who, "agent.retire", name)
    return moved
