"""PostgresNotifier on a real PostgreSQL: notifications cross connections, and a listener
whose connection is killed re-opens it, asks its listeners to resync and hears again."""

from __future__ import annotations

import asyncio

import asyncpg
from sqlalchemy.engine import make_url

from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.ids import RunId
from orchestra.store.notify import PostgresNotifier
from tests.engine.helpers import until


def _event(seq: int) -> ExecutionEvent:
    return ExecutionEvent(EventType.LOG, 0.0, RunId("r1"), None, seq, {})


async def test_notifications_cross_and_survive_a_killed_connection(postgres_url: str) -> None:
    heard: list[tuple[str, int, int]] = []
    resynced = asyncio.Event()
    listener = PostgresNotifier(postgres_url, keepalive_s=0.2, retry_s=0.05)
    listener.listen(lambda run_id, first, last: heard.append((run_id, first, last)), resynced.set)
    own: list[tuple[str, int, int]] = []
    sender = PostgresNotifier(postgres_url, keepalive_s=0.2, retry_s=0.05)
    sender.listen(lambda run_id, first, last: own.append((run_id, first, last)), lambda: None)
    await listener.start()
    await sender.start()
    try:
        sender.publish([_event(1), _event(2)])
        await until(lambda: heard == [("r1", 1, 2)])
        dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
        admin = await asyncpg.connect(dsn)
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        assert killed >= 2
        async with asyncio.timeout(30):
            await resynced.wait()
        sender.publish([_event(3)])
        await until(lambda: heard[-1:] == [("r1", 3, 3)])
    finally:
        await sender.aclose()
        await listener.aclose()
    assert own == []  # a process ignores its own notifications
