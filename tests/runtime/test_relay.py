"""CommitRelay: two stores on one SQLite file stand for two processes on one database.

Store B's commits reach A's sinks only through the relay (A's own store never
publishes them): a local event past a gap makes the relay read the missing
ones, a late or repeated notification delivers nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.ids import RunId
from orchestra.runtime.relay import CommitRelay
from orchestra.store.database import connect
from orchestra.store.notify import InProcessNotifier
from orchestra.store.run_store import SqlRunStore
from tests.engine.helpers import step, until, workflow


class Collect:
    def __init__(self) -> None:
        self.events: list[ExecutionEvent] = []

    def publish(self, events: Iterable[ExecutionEvent]) -> None:
        self.events.extend(events)


def _logs(*names: str) -> list[tuple[EventType, None, dict[str, str]]]:
    return [(EventType.LOG, None, {"message": name}) for name in names]


async def test_gaps_are_filled_from_the_store_and_nothing_arrives_twice(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    database_a, database_b = await connect(url), await connect(url)
    store_a, store_b = SqlRunStore(database_a), SqlRunStore(database_b)
    sink = Collect()
    relay = CommitRelay(store_a.read_events, [sink], InProcessNotifier())
    store_a.add_sink(relay)
    try:
        async with store_a, store_b:
            run_id: RunId = await store_a.create_run(workflow(step("a")), {})
            await store_a.append_events(run_id, _logs("1"))
            await store_b.append_events(run_id, _logs("2", "3"))  # the "other process"
            await store_a.append_events(run_id, _logs("4"))  # past the gap: read 2..4
            await until(lambda: len(sink.events) >= 4)
            relay.remote_commit(run_id, 2, 3)  # the other process's notification, late
            await store_b.append_events(run_id, _logs("5"))
            relay.remote_commit(run_id, 5, 5)
            await until(lambda: len(sink.events) >= 5)
            await store_b.append_events(
                run_id, [(EventType.RUN_FINISHED, None, {"status": "succeeded"})]
            )
            relay.remote_commit(run_id, 6, 6)
            await until(lambda: len(sink.events) >= 6)
            relay.remote_commit(run_id, 2, 6)  # repeated after the run finished: dropped
            relay.resync()
            await relay.aclose()
    finally:
        await database_a.aclose()
        await database_b.aclose()
    assert [e.seq for e in sink.events] == [1, 2, 3, 4, 5, 6]
    assert [e.content.get("message") for e in sink.events[:5]] == ["1", "2", "3", "4", "5"]


async def test_a_run_first_heard_of_remotely_starts_at_the_notified_seq(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    database_a, database_b = await connect(url), await connect(url)
    store_a, store_b = SqlRunStore(database_a), SqlRunStore(database_b)
    sink = Collect()
    relay = CommitRelay(store_a.read_events, [sink], InProcessNotifier())
    try:
        async with store_a, store_b:
            run_id = await store_b.create_run(workflow(step("a")), {})
            await store_b.append_events(run_id, _logs("old"))  # before anyone listened
            await store_b.append_events(run_id, _logs("new", "newer"))
            relay.remote_commit(run_id, 2, 3)
            await until(lambda: len(sink.events) >= 2)
            await relay.aclose()
    finally:
        await database_a.aclose()
        await database_b.aclose()
    assert [e.seq for e in sink.events] == [2, 3]
