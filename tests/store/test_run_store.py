"""The SQL run store on SQLite and PostgreSQL: state machines enforced in SQL, seqs contiguous."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestra.engine.errors import ApprovalError, IllegalTransition, RunNotFound
from orchestra.engine.events import EventType
from orchestra.engine.scheduler import Engine
from orchestra.engine.states import RunStatus
from orchestra.store.database import connect
from orchestra.store.run_store import SqlRunStore
from tests.engine.helpers import RecordingRunner, step, workflow


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path}/o.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlRunStore]:
    database = await connect(database_url)
    async with SqlRunStore(database) as run_store:
        yield run_store
    await database.aclose()


async def test_illegal_run_transition_raises(store: SqlRunStore) -> None:
    run_id = await store.create_run(workflow(step("a")), {})
    with pytest.raises(IllegalTransition, match="'queued' to 'succeeded'"):
        await store.set_run_status(run_id, RunStatus.SUCCEEDED)
    await store.set_run_status(run_id, RunStatus.RUNNING)
    assert (await store.get_run(run_id)).status is RunStatus.RUNNING


async def test_unknown_run(store: SqlRunStore) -> None:
    with pytest.raises(RunNotFound, match="orchestra runs list"):
        await store.get_run("nope")  # type: ignore[arg-type]


async def test_approval_decided_once(store: SqlRunStore) -> None:
    run_id = await store.create_run(workflow(step("a", approval=True)), {})
    with pytest.raises(ApprovalError):
        await store.decide_approval(run_id, "a", "approved", "x", "")  # type: ignore[arg-type]
    await store.request_approval(run_id, "a")  # type: ignore[arg-type]
    await store.decide_approval(run_id, "a", "approved", "x", "ok")  # type: ignore[arg-type]
    with pytest.raises(ApprovalError, match="already decided"):
        await store.decide_approval(run_id, "a", "rejected", "y", "")  # type: ignore[arg-type]


async def test_whole_run_with_concurrent_appends(store: SqlRunStore) -> None:
    spec = workflow(step("root"), *(step(f"b{i}", deps=("root",)) for i in range(10)))
    engine = Engine(store, RecordingRunner())
    run_a = await engine.create_run(spec, {})
    run_b = await engine.create_run(spec, {})
    results = await asyncio.gather(
        engine.drive(run_a),
        engine.drive(run_b),
        *(store.append_events(run_a, [(EventType.LOG, None, {"i": i})]) for i in range(50)),
    )
    assert results[:2] == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED]
    for run_id in (run_a, run_b):
        seqs = [e.seq for e in await store.read_events(run_id)]
        assert seqs == list(range(1, len(seqs) + 1))
    assert (await store.get_run(run_a)).usage.calls == 11


async def test_run_lease_claim_and_release(store: SqlRunStore) -> None:
    run_id = await store.create_run(workflow(step("a")), {})
    assert await store.claim_run(run_id, "one", 30)
    assert not await store.claim_run(run_id, "two", 30)
    assert await store.claim_run(run_id, "two", 30, ["one"])  # "one" is known dead
    await store.release_run(run_id, "one")  # not the owner any more: no effect
    assert (await store.get_run(run_id)).owner == "two"
    await store.release_run(run_id, "two")
    assert (await store.get_run(run_id)).owner is None
