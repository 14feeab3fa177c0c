"""Agents and tasks in the store, on SQLite and PostgreSQL: registration, lifecycle
history, idempotent creation, assignment by strategy and need, and the reasons a task
waits."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestra.agents.assignment import Strategy
from orchestra.agents.lifecycle import AgentState, IllegalAgentTransition
from orchestra.store.database import Database, connect
from orchestra.store.team import AgentRepository, TaskRepository, assign_batch
from orchestra.store.team.agents import AgentProfile
from orchestra.tasks import TaskStatus
from orchestra.tasks.errors import IllegalTaskTransition
from orchestra.tasks.specs import TaskDraft


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/o.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = await connect(database_url)
    yield database
    await database.aclose()


def profile(name: str, **kw: object) -> AgentProfile:
    return AgentProfile(name=name, source=f"agents/{name}.agent.md", spec_hash=name, **kw)  # type: ignore[arg-type]


async def test_registration_and_lifecycle_history(database: Database) -> None:
    agents = AgentRepository(database)
    assert await agents.sync([profile("ada"), profile("bob")]) == ["ada", "bob"]
    assert await agents.sync([profile("ada"), profile("bob")]) == []  # unchanged
    edited = AgentProfile(
        name="ada", source="agents/ada.agent.md", spec_hash="v2", capabilities=("sheets",)
    )
    changed = await agents.sync([edited])
    assert changed == ["ada"]
    assert (await agents.get("ada")).capabilities == ("sheets",)

    await agents.transition("ada", AgentState.PAUSED, by="op", reason="maintenance")
    await agents.transition("ada", AgentState.IDLE, by="op", reason="back")
    await agents.transition("ada", AgentState.RETIRED, by="admin", reason="replaced")
    with pytest.raises(IllegalAgentTransition):
        await agents.transition("ada", AgentState.IDLE, by="op")
    history = [(t.source, t.target, t.by, t.reason) for t in await agents.transitions("ada")]
    assert history == [
        (None, AgentState.IDLE, "project", "registered"),
        (AgentState.IDLE, AgentState.PAUSED, "op", "maintenance"),
        (AgentState.PAUSED, AgentState.IDLE, "op", "back"),
        (AgentState.IDLE, AgentState.RETIRED, "admin", "replaced"),
    ]
    assert [a.name for a in await agents.list()] == ["bob"]


async def test_idempotency_key_never_creates_a_second_task(database: Database) -> None:
    tasks = TaskRepository(database)
    first, created = await tasks.create(TaskDraft(title="a", idempotency_key="k1"), by="u")
    again, created_again = await tasks.create(TaskDraft(title="b", idempotency_key="k1"), by="u")
    assert created and not created_again
    assert again.id == first.id and again.title == "a"
    assert len(await tasks.list()) == 1


async def test_assignment_follows_need_priority_and_age(database: Database) -> None:
    agents = AgentRepository(database)
    tasks = TaskRepository(database)
    await agents.sync(
        [
            profile("junior", complexity_min=1, complexity_max=4),
            profile("senior", complexity_min=5, complexity_max=10, max_tasks=2),
            profile("sheets", capabilities=("sheets",), complexity_max=3),
        ]
    )
    easy, _ = await tasks.create(TaskDraft(title="easy", complexity=2), by="u")
    hard, _ = await tasks.create(TaskDraft(title="hard", complexity=8), by="u")
    sheet, _ = await tasks.create(
        TaskDraft(title="s", complexity=2, capabilities=("sheets",)), by="u"
    )
    urgent, _ = await tasks.create(TaskDraft(title="urgent", complexity=9, priority=9), by="u")
    nobody, _ = await tasks.create(TaskDraft(title="x", capabilities=("fax",)), by="u")

    batch = await assign_batch(database, Strategy("least_recent"))
    taken = {a.task_id: a.agent for a in batch.assigned}
    assert taken == {
        urgent.id: "senior",  # highest priority first
        easy.id: "junior",
        hard.id: "senior",  # senior has two slots
        sheet.id: "sheets",
    }
    assert batch.assigned[0].task_id == urgent.id
    assert batch.waiting == {nobody.id: "no agent has capability 'fax'"}
    assert (await tasks.get(nobody.id)).wait_reason == "no agent has capability 'fax'"
    senior = await agents.get("senior")
    assert (senior.state, senior.active_tasks) == (AgentState.BUSY, 2)

    more, _ = await tasks.create(TaskDraft(title="more", complexity=7), by="u")
    batch = await assign_batch(database, Strategy("least_recent"))
    assert batch.assigned == []
    assert batch.waiting[more.id] == "all 1 matching agent unavailable: 1 busy"

    # Finishing a task gives the slot back; the agent goes idle with nothing left.
    await tasks.move(hard.id, TaskStatus.BUILD, by="senior", note="coding")
    with pytest.raises(IllegalTaskTransition, match="backwards"):
        await tasks.move(hard.id, TaskStatus.DESIGN, by="senior")
    await tasks.move(hard.id, TaskStatus.COMPLETE, by="engine")
    batch = await assign_batch(database, Strategy("least_recent"))
    assert [(a.task_id, a.agent) for a in batch.assigned] == [(more.id, "senior")]
    await tasks.move(more.id, TaskStatus.FAILED, by="engine")
    await tasks.move(urgent.id, TaskStatus.COMPLETE, by="engine")
    senior = await agents.get("senior")
    assert (senior.state, senior.active_tasks) == (AgentState.IDLE, 0)
    sessions = await agents.sessions("senior")
    assert sorted(s.outcome or "" for s in sessions) == ["complete", "complete", "failed"]
    assert await agents.success_rate("senior") == (2, 3)
    updates = [(u.kind, u.source, u.target) for u in await tasks.updates(hard.id)]
    assert updates == [
        ("status", None, "queued"),
        ("status", "queued", "assigned"),
        ("phase", "assigned", "build"),
        ("status", "build", "complete"),
    ]


async def test_paused_agents_take_nothing_and_the_reason_says_so(database: Database) -> None:
    agents = AgentRepository(database)
    tasks = TaskRepository(database)
    await agents.sync([profile("a"), profile("b"), profile("c", complexity_max=3)])
    await agents.transition("a", AgentState.PAUSED, by="op")
    await agents.transition("b", AgentState.PAUSED, by="op")
    task, _ = await tasks.create(TaskDraft(title="t", complexity=6), by="u")
    batch = await assign_batch(database, Strategy("round_robin"))
    assert batch.waiting[task.id] == "all 2 matching agents unavailable: 2 paused"
    await agents.transition("b", AgentState.IDLE, by="op")
    batch = await assign_batch(database, Strategy("round_robin"))
    assert [(a.task_id, a.agent) for a in batch.assigned] == [(task.id, "b")]


async def test_failures_in_a_row_put_an_agent_in_error(database: Database) -> None:
    agents = AgentRepository(database)
    tasks = TaskRepository(database, error_after=2)
    await agents.sync([profile("solo")])
    for _ in range(2):
        task, _ = await tasks.create(TaskDraft(title="t"), by="u")
        await assign_batch(database, Strategy("least_recent"))
        await tasks.move(task.id, TaskStatus.FAILED, by="engine", error={"message": "boom"})
    solo = await agents.get("solo")
    assert solo.state == AgentState.ERROR
    queued, _ = await tasks.create(TaskDraft(title="waits"), by="u")
    batch = await assign_batch(database, Strategy("least_recent"))
    assert batch.waiting[queued.id] == "all 1 matching agent unavailable: 1 error"
    await agents.transition("solo", AgentState.IDLE, by="op", reason="fixed")
    assert (await agents.get("solo")).consecutive_failures == 0
    batch = await assign_batch(database, Strategy("least_recent"))
    assert [a.task_id for a in batch.assigned] == [queued.id]


@pytest.mark.parametrize("name", ["least_recent", "round_robin", "least_loaded"])
async def test_strategies_spread_work(database: Database, name: str) -> None:
    agents = AgentRepository(database)
    tasks = TaskRepository(database)
    await agents.sync(
        [profile("a", max_tasks=10), profile("b", max_tasks=10, weight=3.0), profile("c")]
    )
    for i in range(9):
        await tasks.create(TaskDraft(title=f"t{i}"), by="u")
    strategy = Strategy(name, rng=random.Random(7))  # type: ignore[arg-type]
    counts: dict[str, int] = {}
    for _ in range(9):  # one task per batch, so each choice sees the last one's effect
        for assigned in (await assign_batch(database, strategy, limit=1)).assigned:
            counts[assigned.agent] = counts.get(assigned.agent, 0) + 1
    assert sum(counts.values()) == 9
    assert counts.get("c", 0) <= 1  # max_tasks 1
    assert counts == {"a": 4, "b": 4, "c": 1}


async def test_weighted_strategy_follows_the_weights(database: Database) -> None:
    agents = AgentRepository(database)
    tasks = TaskRepository(database)
    await agents.sync([profile("a", max_tasks=100), profile("b", max_tasks=100, weight=3.0)])
    for i in range(80):
        await tasks.create(TaskDraft(title=f"t{i}"), by="u")
    strategy = Strategy("weighted", rng=random.Random(7))
    counts = {"a": 0, "b": 0}
    for assigned in (await assign_batch(database, strategy)).assigned:
        counts[assigned.agent] += 1
    assert sum(counts.values()) == 80
    # Weight 3 against 1: about three quarters; far from an even split.
    assert 50 <= counts["b"] <= 70, counts
