"""SQLite event numbering: the remembered last seq per run is dropped as soon as another
connection (another process) commits, and seqs stay contiguous across writers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import Connection

from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId
from orchestra.store.database import connect
from orchestra.store.group_commit import LAST_SEQ, SeqCache
from orchestra.store.run_store import SqlRunStore
from tests.engine.helpers import step, workflow


async def test_two_writers_on_one_file_keep_seqs_contiguous(tmp_path: Path) -> None:
    # Two databases on one file are two connections, as two processes would have: each
    # store remembers the last seq it wrote, and must notice the other's commits.
    url = f"sqlite:///{tmp_path}/o.db"
    first_db, second_db = await connect(url), await connect(url)
    try:
        async with SqlRunStore(first_db) as first, SqlRunStore(second_db) as second:
            run_id = await first.create_run(workflow(step("a")), {})
            for round_ in range(20):
                writer = first if round_ % 3 else second
                await writer.append_events(
                    run_id, [(EventType.LOG, None, {"message": f"{round_}.{i}"}) for i in range(3)]
                )
            both = await asyncio.gather(
                *(
                    store.append_events(run_id, [(EventType.LOG, None, {"message": "x"})])
                    for store in (first, second, first, second)
                )
            )
            assert both == [None] * 4
            events = await second.read_events(run_id)
    finally:
        await first_db.aclose()
        await second_db.aclose()
    assert [e.seq for e in events] == list(range(1, 65))
    messages = [e.content["message"] for e in events[:60]]
    assert messages == [f"{r}.{i}" for r in range(20) for i in range(3)]


async def test_the_cache_forgets_when_another_connection_commits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/o.db"
    mine, other = await connect(url), await connect(url)
    cache = SeqCache()
    run_id = RunId("r1")
    try:
        await mine.write(cache.validate)
        cache.committed({run_id: 7})
        await mine.write(cache.validate)  # our own commits do not invalidate it
        assert cache.get(run_id) == 7

        def touch(conn: Connection) -> None:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS scratch (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO scratch VALUES (1)")

        await other.write(touch)
        await mine.write(cache.validate)
        assert cache.get(run_id) is None
        assert await mine.write(lambda c: LAST_SEQ.rows(c, {"rid": run_id})) == [(None,)]
    finally:
        await mine.aclose()
        await other.aclose()
