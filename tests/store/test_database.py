import pytest

from orchestra.store.database import normalise_url
from orchestra.store.errors import DatabaseUrlError


def test_urls_map_to_the_drivers_we_run() -> None:
    assert normalise_url("sqlite+aiosqlite:///x/o.db") == "sqlite:///x/o.db"
    assert normalise_url("postgresql://u:p@h:5/d") == "postgresql+asyncpg://u:p@h:5/d"


def test_unsupported_url_says_what_to_use() -> None:
    with pytest.raises(DatabaseUrlError, match="ORCHESTRA_DATABASE_URL"):
        normalise_url("mysql://h/d")


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite+aiosqlite://"])
async def test_an_in_memory_database_holds_a_whole_run(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Reads and writes see the same in-memory database (a reader of its own would find
    no tables: ``no such table: runs``), and closing it logs no thread error."""
    from orchestra.engine.scheduler import Engine
    from orchestra.engine.states import RunStatus
    from orchestra.store.database import connect
    from orchestra.store.run_store import SqlRunStore
    from tests.engine.helpers import RecordingRunner, step, workflow

    database = await connect(url)
    try:
        async with SqlRunStore(database) as store:
            engine = Engine(store, RecordingRunner())
            run_id = await engine.create_run(workflow(step("a"), step("b", deps=("a",))), {})
            assert await engine.drive(run_id) is RunStatus.SUCCEEDED
            run = await store.get_run(run_id)
            assert run.status is RunStatus.SUCCEEDED
            assert {a.step_id for a in await store.list_attempts(run_id)} == {"a", "b"}
            assert [r.id for r in await store.list_runs()] == [run_id]
    finally:
        await database.aclose()
    assert not [r for r in caplog.records if "thread" in r.getMessage().lower()]
