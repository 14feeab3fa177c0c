"""TaskService end to end in one process: tasks are assigned to suited agents, become
runs of the engine, and end as their runs end (SQLite and PostgreSQL, scripted model)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestra.agents.lifecycle import AgentState
from orchestra.config import load_settings
from orchestra.engine.errors import WorkflowInputError
from orchestra.engine.ids import RunId
from orchestra.engine.states import RunStatus
from orchestra.runtime.container import Container, ContainerOptions
from orchestra.runtime.tasks import TaskService
from orchestra.tasks import TaskStatus
from orchestra.tasks.specs import TaskDraft
from tests.tasks.project import scripts, write_team


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def service(tmp_path: Path, database_url: str | None) -> AsyncIterator[TaskService]:
    root = write_team(tmp_path / "team", database_url)
    container = await Container.open(
        load_settings(root, env={}), ContainerOptions(refresh_s=None, scripts=scripts())
    )
    tasks = container.tasks
    await tasks.sync_agents()
    try:
        yield tasks
    finally:
        await container.close()


async def work_until_idle(tasks: TaskService, timeout_s: float = 60.0) -> None:
    """Rounds of the service until nothing is queued with a taker or held."""
    deadline = time.monotonic() + timeout_s
    while not await tasks.idle():
        await tasks.run_once()
        if time.monotonic() > deadline:
            rows = await tasks.tasks.list()
            raise AssertionError(f"tasks still working: {[(r.id, r.status) for r in rows]}")
        await asyncio.sleep(0.05)


async def test_tasks_go_to_suited_agents_and_complete_with_their_runs(
    service: TaskService,
) -> None:
    py, _ = await service.create(
        TaskDraft(title="Fix the parser", complexity=3, capabilities=("python",)), by="t"
    )
    doc, _ = await service.create(
        TaskDraft(title="Document the API", complexity=8, capabilities=("docs",)), by="t"
    )
    templated, _ = await service.create(
        TaskDraft(
            title="A note", workflow="note", inputs={"Topic": "bees"}, capabilities=("docs",)
        ),
        by="t",
    )
    await work_until_idle(service)

    for task_id, agent in ((py.id, "coder"), (doc.id, "writer"), (templated.id, "writer")):
        row = await service.tasks.get(task_id)
        assert row.status is TaskStatus.COMPLETE, row
        assert row.agent == agent
        assert row.run_id is not None
        record = await service.runs.store.get_run(RunId(row.run_id))
        assert record.status is RunStatus.SUCCEEDED
    # The one-step run got the task's title as its input; the workflow its inputs.
    record = await service.runs.store.get_run(RunId((await service.tasks.get(py.id)).run_id or ""))
    assert "Fix the parser" in str(dict(record.steps["task"].outputs))
    record = await service.runs.store.get_run(
        RunId((await service.tasks.get(templated.id)).run_id or "")
    )
    assert "bees" in str(dict(record.steps["draft"].outputs))

    # Each task taken opened a session that ended with the task's outcome; agents idle.
    sessions = await service.agents.sessions("writer")
    assert sorted(s.task_id for s in sessions) == sorted([doc.id, templated.id])
    assert all(s.outcome == "complete" and s.ended_at is not None for s in sessions)
    # Each session carries what its task's run cost (the scripted model counts tokens).
    for session in sessions:
        task_row = await service.tasks.get(session.task_id)
        run_usage = (await service.runs.store.get_run(RunId(task_row.run_id or ""))).usage
        assert run_usage.total_tokens > 0
        assert session.prompt_tokens + session.completion_tokens == run_usage.total_tokens
    for name in ("coder", "writer"):
        assert (await service.agents.get(name)).state is AgentState.IDLE


async def test_a_task_nobody_can_take_waits_with_the_reason(service: TaskService) -> None:
    hard, _ = await service.create(
        TaskDraft(title="Too hard for coder", complexity=9, capabilities=("python",)), by="t"
    )
    odd, _ = await service.create(TaskDraft(title="Sheets", capabilities=("sheets",)), by="t")
    await service.run_once()
    assert (await service.tasks.get(odd.id)).status is TaskStatus.QUEUED
    assert "sheets" in ((await service.tasks.get(odd.id)).wait_reason or "")
    assert (await service.tasks.get(hard.id)).status is TaskStatus.QUEUED
    assert (await service.tasks.get(hard.id)).wait_reason
    assert await service.idle()  # nothing anyone can take: --until-idle may stop


async def test_the_same_idempotency_key_never_creates_a_second_task(
    service: TaskService,
) -> None:
    first, created = await service.create(TaskDraft(title="once", idempotency_key="k1"), by="t")
    again, created_again = await service.create(
        TaskDraft(title="once more", idempotency_key="k1"), by="t"
    )
    assert created and not created_again
    assert again.id == first.id
    assert len(await service.tasks.list()) == 1


async def test_a_failing_run_fails_its_task_and_retry_queues_it_again(
    service: TaskService,
) -> None:
    task, _ = await service.create(TaskDraft(title="Break", capabilities=("fragile",)), by="t")
    await work_until_idle(service)
    failed = await service.tasks.get(task.id)
    assert failed.status is TaskStatus.FAILED
    assert failed.error is not None and failed.error["type"] == "run_failed"
    assert failed.agent == "broken"
    sessions = await service.agents.sessions("broken")
    assert [s.outcome for s in sessions] == ["failed"]
    retried = await service.retry(task.id, by="t")
    assert retried.status is TaskStatus.QUEUED


async def test_cancelling_a_task_cancels_it(service: TaskService) -> None:
    task, _ = await service.create(TaskDraft(title="never mind", capabilities=("sheets",)), by="t")
    cancelled = await service.cancel(task.id, by="t")
    assert cancelled.status is TaskStatus.CANCELLED
    updates = await service.tasks.updates(task.id)
    assert updates[-1].target == TaskStatus.CANCELLED


async def test_a_workflow_task_is_checked_against_the_workflows_inputs(
    service: TaskService,
) -> None:
    with pytest.raises(WorkflowInputError, match="Topic"):
        await service.create(TaskDraft(title="No topic", workflow="note"), by="t")
    assert await service.tasks.list() == []


async def test_an_agent_reports_its_phases_in_the_task_workspace(service: TaskService) -> None:
    task, _ = await service.create(
        TaskDraft(title="Build the app", description="A tiny app.", capabilities=("build",)),
        by="t",
    )
    await work_until_idle(service)
    row = await service.tasks.get(task.id)
    assert row.status is TaskStatus.COMPLETE
    moves = [u.target for u in await service.tasks.updates(task.id) if u.target]
    # Phases move forward only: the late "build" report was refused, not stored.
    assert moves == ["queued", "assigned", "design", "build", "test", "complete"]

    assert service.workspaces is not None
    folder = service.workspaces / "builder" / "tasks" / task.id
    assert {p.name for p in folder.iterdir()} >= {"src", "output", "research", "README.md"}
    assert (folder / "src" / "app.py").read_text() == "x = 1\n"
    readme = (folder / "README.md").read_text()
    assert "# Build the app" in readme and "A tiny app." in readme
    assert "- [x] design" in readme and "- [x] build" in readme and "- [x] test" in readme
    assert "- [ ] review" in readme
    assert "test: green" in readme
    # The run's own workspace is the task's.
    assert (service.workspaces / (row.run_id or "")).resolve() == folder.resolve()
    events = await service.runs.store.read_events(RunId(row.run_id or ""))
    refused = [
        e.content["error"]
        for e in events
        if e.type.value == "tool_result" and e.content["status"] != "ok"
    ]
    assert len(refused) == 1 and "build" in str(refused[0])


async def test_a_task_workspace_gets_its_own_virtual_environment(
    service: TaskService, tmp_path: Path
) -> None:
    from orchestra.tasks.workspace import ensure_task_venv, open_task_workspace

    workspace = open_task_workspace(
        tmp_path / "ws", "coder", "t1", title="venv", description="", run_id="r1"
    )
    python = await ensure_task_venv(workspace)
    assert python.is_file() and python.parent.parent == workspace.root / ".venv"


def test_task_update_is_a_known_tool_to_validate(tmp_path: Path) -> None:
    """An agent may list task.update before any task service runs (validate, run)."""
    from orchestra.runtime.project_checks import load_project

    project = load_project(load_settings(write_team(tmp_path / "team"), env={}))
    assert project.agent_named("builder") is not None
    assert not [d for d in project.diagnostics if "task.update" in d.message]
