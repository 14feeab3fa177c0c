"""Migrations 0003 (``model_calls``) and 0004 (its ``failed_attempts``) go up and down;
calls, their failed tries and roll-ups read back as written.

On SQLite and PostgreSQL, like the other migrations (see test_migrate.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect

from orchestra.definitions import Project
from orchestra.llm.types import Usage
from orchestra.llm.usage import UsageRecord
from orchestra.store import migrate
from orchestra.store.database import Database, connect
from orchestra.store.run_store import SqlRunStore
from orchestra.store.usage_store import SqlUsageStore
from tests.api.project import write_project


def tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("model_calls")}


def record(step: str, agent: str, model: str, **usage: object) -> UsageRecord:
    return UsageRecord(
        usage=Usage.model_validate({"model": model, "deployment": f"{model}[x]", **usage}),
        step_id=step,
        attempt=1,
        agent=agent,
        requested_model="alias",
    )


async def check_migration_and_rollups(database: Database, tmp_path: Path) -> None:
    assert "model_calls" in await database.read(tables)
    await database.write(lambda c: migrate.downgrade(c, "0002_api_keys_audit"))
    assert "model_calls" not in await database.read(tables)
    await database.migrate()
    assert await database.read(migrate.current_revision) == migrate.head_revision()
    await database.write(lambda c: migrate.downgrade(c, "0003_model_calls"))
    assert "failed_attempts" not in await database.read(columns)
    await database.migrate()
    assert "failed_attempts" in await database.read(columns)

    spec = Project.load(write_project(tmp_path / "project")).workflow("pair")
    async with SqlRunStore(database) as runs:
        run_id = await runs.create_run(spec, {"Topic": "t"})
        other = await runs.create_run(spec, {"Topic": "u"})
    usage = SqlUsageStore(database)
    written = [
        record("a", "writer", "m1", prompt_tokens=3, completion_tokens=4, cost_usd=0.5),
        record(
            "a",
            "writer",
            "m2",
            prompt_tokens=1,
            completion_tokens=1,
            retries=1,
            fallbacks=1,
            failed_attempts=[
                {"deployment": "m2[dead]", "error": "ProviderUnavailable", "latency_s": 0.5},
                {"deployment": "m2[x]", "error": "EmptyAnswer", "latency_s": 0.25, "message": "m"},
            ],
        ),
        record("b", "checker", "m1", prompt_tokens=2, completion_tokens=0, cached=True),
        record("b", "checker", "", latency_s=0.25).model_copy(update={"error": "Timeout"}),
    ]
    for item in written:
        await usage.record_call(item.model_copy(update={"run_id": run_id}))
    await usage.record_call(record("z", "writer", "m1").model_copy(update={"run_id": other}))

    calls = await usage.calls(run_id)
    assert [c.model_dump() for c in calls] == [
        w.model_copy(update={"run_id": run_id}).model_dump() for w in written
    ]
    report = await usage.report(run_id)
    assert report.total.calls == 4
    assert report.total.prompt_tokens == 6
    assert report.total.completion_tokens == 5
    assert report.total.cost_usd == pytest.approx(0.5)
    assert report.total.failed_calls == 1
    assert report.total.cached_calls == 1
    assert list(report.by_step) == ["a", "b"]
    assert report.by_step["a"].calls == 2
    assert report.by_step["a"].retries == 1
    assert report.by_step["a"].fallbacks == 1
    assert report.by_agent["checker"].failed_calls == 1
    # The failed call had no answering model: it counts under the model it asked for.
    assert list(report.by_model) == ["m1", "m2", "alias"]
    assert report.by_model["m1"].calls == 2
    assert report.by_deployment["m2[x]"].prompt_tokens == 1
    assert (await usage.report(other)).total.calls == 1


async def test_sqlite(tmp_path: Path) -> None:
    database = await connect(f"sqlite:///{tmp_path}/orchestra.db")
    try:
        await check_migration_and_rollups(database, tmp_path)
    finally:
        await database.aclose()


@pytest.mark.postgres
async def test_postgres(tmp_path: Path, postgres_url: str) -> None:
    database = await connect(postgres_url)
    try:
        await check_migration_and_rollups(database, tmp_path)
    finally:
        await database.aclose()
