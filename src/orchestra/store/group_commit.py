"""Group commit: many small writes share one transaction, events published after commit.

Callers submit *operations* (functions of a :class:`Tx`). A single writer task
takes every operation queued so far, runs them in one transaction, assigns the
events they produced their per-run sequence numbers (in the same transaction,
from the run row's counter, so numbers are contiguous even across processes on
PostgreSQL, where the row lock serialises writers), commits, and only then
publishes the events and resolves the callers' futures. Concurrency raises
throughput without weakening "committed before published".

An operation may raise an engine error (``LeaseLost``, ``IllegalTransition`` …)
only *before* its first write; that error goes to its caller and the batch
carries on. Any other failure rolls the batch back and its operations are
retried one transaction each, so one bad operation fails alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, bindparam, func, insert, select, update

from orchestra.engine.errors import EngineError, RunNotFound
from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.ids import RunId, StepId
from orchestra.store.database import Database
from orchestra.store.errors import DatabaseUnavailable
from orchestra.store.prepared import Prepared
from orchestra.store.tables import events as events_table
from orchestra.store.tables import runs

T = TypeVar("T")
log = logging.getLogger(__name__)


_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(value: Any) -> str:
    """Compact JSON (one encoder for the process: ``json.dumps`` with options builds a new
    encoder on every call, a measurable share of a commit)."""
    return _ENCODE(value)


class SeqCache:
    """The last stored seq of each run this process wrote events for (SQLite only).

    SQLite numbers events from the last stored seq (one writer at a time holds the
    database's write lock). Reading it back is a query per run per batch; this
    remembers it instead, as long as no other connection has committed since our
    last batch: SQLite's ``PRAGMA data_version`` changes exactly then, and one
    pragma per batch costs less than one query per run. Values are taken in only
    after their batch committed, so a rolled-back batch leaves nothing stale.
    """

    __slots__ = ("_last", "_version")

    LIMIT = 4096

    def __init__(self) -> None:
        self._last: dict[RunId, int] = {}
        self._version: int | None = None

    def validate(self, conn: Connection) -> None:
        """At the start of a batch: forget everything if another connection wrote."""
        raw = conn.connection.dbapi_connection
        assert raw is not None
        (version,) = raw.execute("PRAGMA data_version").fetchone()
        if version != self._version:
            self._last.clear()
            self._version = version

    def get(self, run_id: RunId) -> int | None:
        return self._last.get(run_id)

    def committed(self, last: dict[RunId, int]) -> None:
        if len(self._last) + len(last) > self.LIMIT:
            self._last.clear()
        self._last.update(last)

    def forget(self) -> None:
        self._last.clear()


class Tx:
    """The transaction an operation runs in: a connection plus the events it records."""

    __slots__ = ("assigned", "conn", "drafts", "now", "seqs")

    def __init__(self, conn: Connection, now: float, seqs: SeqCache | None = None) -> None:
        self.conn = conn
        self.now = now
        self.drafts: list[tuple[RunId, StepId | None, EventType, dict[str, Any]]] = []
        self.seqs = seqs
        self.assigned: dict[RunId, int] = {}
        """The last seq given to each run in this transaction (for the cache, on commit)."""

    def event(
        self, run_id: RunId, step_id: StepId | None, type: EventType, content: dict[str, Any]
    ) -> None:
        """Record an event; it gets its seq and is inserted when the batch commits."""
        self.drafts.append((run_id, step_id, type, content))

    def flush_events(self) -> list[ExecutionEvent]:
        """Allocate sequence numbers per run and insert the recorded events."""
        if not self.drafts:
            return []
        counts: dict[RunId, int] = {}
        for run_id, *_ in self.drafts:
            counts[run_id] = counts.get(run_id, 0) + 1
        next_seq: dict[RunId, int] = {}
        if self.conn.dialect.name == "sqlite":
            # The database write lock serialises every writer, so the last stored seq
            # (an index lookup, or SeqCache) is the counter: no rewrite of the (large)
            # run row per batch. A run that does not exist fails the insert's foreign key.
            for run_id in counts:
                last = self.seqs.get(run_id) if self.seqs is not None else None
                if last is None:
                    last = LAST_SEQ.rows(self.conn, {"rid": run_id})[0][0] or 0
                next_seq[run_id] = last + 1
        else:
            for run_id in sorted(counts):  # fixed lock order across processes
                found = NEXT_SEQ.rows(self.conn, {"rid": run_id, "n": counts[run_id]})
                if not found:
                    raise RunNotFound(run_id)
                next_seq[run_id] = found[0][0] - counts[run_id] + 1
        published: list[ExecutionEvent] = []
        rows: list[tuple[Any, ...]] = []
        now = self.now
        for run_id, step_id, type, content in self.drafts:
            seq = next_seq[run_id]
            next_seq[run_id] = seq + 1
            published.append(ExecutionEvent(type, now, run_id, step_id, seq, content))
            rows.append((run_id, seq, type.value, step_id, now, dumps(content)))
        INSERT_EVENT.many_tuples(self.conn, rows)
        self.assigned = {run_id: seq - 1 for run_id, seq in next_seq.items()}
        return published


NEXT_SEQ = Prepared(
    update(runs)
    .where(runs.c.id == bindparam("rid"))
    .values(last_seq=runs.c.last_seq + bindparam("n"))
    .returning(runs.c.last_seq)
)
LAST_SEQ = Prepared(
    select(func.max(events_table.c.seq)).where(events_table.c.run_id == bindparam("rid"))
)
EVENT_COLUMNS = ("run_id", "seq", "type", "step_id", "ts", "content_json")
INSERT_EVENT = Prepared(
    insert(events_table).values({name: bindparam(name) for name in EVENT_COLUMNS}),
    order=EVENT_COLUMNS,
)

Operation = Callable[[Tx], T]

LINGER_S = 0.02
"""How long a lazy write (a progress event nobody waits for) may wait for company."""


@dataclass(slots=True)
class _Raised:
    error: BaseException


@dataclass(slots=True)
class _Pending(Generic[T]):
    operation: Operation[T]
    future: asyncio.Future[T]


def _apply(
    operations: list[Operation[Any]], connection: Connection, seqs: SeqCache | None
) -> tuple[list[Any], Tx, list[ExecutionEvent]]:
    if seqs is not None:
        seqs.validate(connection)
    tx = Tx(connection, time.time(), seqs)
    outcomes: list[Any] = []
    for operation in operations:
        mark = len(tx.drafts)
        try:
            outcomes.append(operation(tx))
        except EngineError as error:
            del tx.drafts[mark:]
            outcomes.append(_Raised(error))
    return outcomes, tx, tx.flush_events()


class GroupCommitter:
    """The single writer of a store. Use as an async context manager (or start/aclose)."""

    def __init__(
        self,
        database: Database,
        on_commit: Callable[[list[ExecutionEvent]], None],
        *,
        max_batch: int = 2000,
    ) -> None:
        self._database = database
        self._on_commit = on_commit
        self._max_batch = max_batch
        self._queue: deque[_Pending[Any]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._linger: asyncio.TimerHandle | None = None
        self._seqs = SeqCache() if database.dialect == "sqlite" else None

    @property
    def backlog(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="orchestra-group-commit"
            )

    async def aclose(self) -> None:
        """Stop accepting, drain what is queued, then stop the writer."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    def submit_nowait(self, operation: Operation[T], *, lazy: bool = False) -> asyncio.Future[T]:
        """Queue ``operation``. A ``lazy`` one does not start a commit by itself: it rides
        with the next ordinary write, or commits after ``LINGER_S`` at the latest."""
        if self._closing or self._task is None:
            raise RuntimeError("the store is not open; use `async with store:`")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append(_Pending(operation, future))
        if not lazy:
            self._wake.set()
        elif self._linger is None:
            self._linger = loop.call_later(LINGER_S, self._wake_up)
        return future

    def _wake_up(self) -> None:
        self._linger = None
        self._wake.set()

    async def submit(self, operation: Operation[T]) -> T:
        """Run ``operation`` in the next group transaction; return after it committed."""
        return await self.submit_nowait(operation)

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            if self._linger is not None:
                self._linger.cancel()
                self._linger = None
            count = min(len(self._queue), self._max_batch)
            batch = [self._queue.popleft() for _ in range(count)]
            await self._commit(batch)

    async def _commit(self, batch: list[_Pending[Any]]) -> None:
        operations = [pending.operation for pending in batch]
        try:
            outcomes, tx, committed = await self._database.write(
                lambda connection: _apply(operations, connection, self._seqs)
            )
        except Exception as error:  # isolate the failing operation, fail only its caller
            if self._seqs is not None:
                self._seqs.forget()  # cheap, and certain: nothing half-known survives
            if len(batch) > 1:
                for pending in batch:
                    await self._commit([pending])
                return
            if not batch[0].future.done():
                batch[0].future.set_exception(error)
            return
        if self._seqs is not None:
            self._seqs.committed(tx.assigned)
        self._on_commit(committed)
        for pending, outcome in zip(batch, outcomes, strict=True):
            if pending.future.done():
                continue
            if isinstance(outcome, _Raised):
                pending.future.set_exception(outcome.error)
            else:
                pending.future.set_result(outcome)


REPEAT_QUIET_S = 30.0
"""How long the same database fault of writes nobody awaits is logged only once."""
_last_fault: list[tuple[str, float]] = [("", 0.0)]


def log_failure(future: asyncio.Future[Any]) -> None:
    """Done-callback for writes nobody awaits: failures are logged, never silently dropped.

    A database fault (disk full, read-only) fails every such write (each streamed token
    is one) with the same message; it is logged once per :data:`REPEAT_QUIET_S`."""
    if future.cancelled() or future.exception() is None:
        return
    error = future.exception()
    if isinstance(error, DatabaseUnavailable):
        text, now = str(error), time.monotonic()
        last, when = _last_fault[0]
        if text == last and now - when < REPEAT_QUIET_S:
            return
        _last_fault[0] = (text, now)
    log.error("background write failed", exc_info=error)


def drafts_of(
    run_id: RunId, events: Iterable[tuple[EventType, StepId | None, dict[str, Any]]]
) -> list[tuple[RunId, StepId | None, EventType, dict[str, Any]]]:
    return [(run_id, step_id, type, content) for type, step_id, content in events]
