"""Committed events, local and from other processes, to this process's sinks: in seq order.

The store hands every local commit to :class:`CommitRelay` (it is the store's
one sink). The relay tells the :class:`~orchestra.engine.protocols.CommitNotifier`
(so other processes hear of it) and passes the events on to the real sinks
(the engine's ``EventBus``, the ``EventFeed``). When the notifier reports that
*another* process committed events of a run, the relay reads them from the
store after the last seq it delivered for that run and delivers them the same
way. Per run it delivers each seq once, in order: an event already delivered
is dropped, and a local event past a gap (another process wrote the seqs in
between) waits for a read from the store. So every subscriber downstream
sees no gap and no duplicate, whichever process committed.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import OrderedDict
from collections.abc import Iterable, Sequence

from orchestra.engine.events import EventReader, EventType, ExecutionEvent
from orchestra.engine.ids import RunId
from orchestra.engine.protocols import CommitNotifier, EventSink

log = logging.getLogger(__name__)

_ALL = sys.maxsize
"""A catch-up target meaning "whatever the store has"."""


class CommitRelay:
    """An :class:`EventSink` for the store that also forwards other processes' commits."""

    FINISHED_LIMIT = 4096
    """How many finished runs keep their last seq (late notifications are then dropped)."""

    def __init__(
        self, reader: EventReader, sinks: Sequence[EventSink], notifier: CommitNotifier
    ) -> None:
        self._reader = reader
        self._sinks = tuple(sinks)
        self._notifier = notifier
        self._last: dict[RunId, int] = {}
        """The last seq delivered, per run still running."""
        self._finished: OrderedDict[RunId, int] = OrderedDict()
        self._targets: dict[RunId, int] = {}
        self._catching_up: dict[RunId, asyncio.Task[None]] = {}
        notifier.listen(self.remote_commit, self.resync)

    def publish(self, events: Iterable[ExecutionEvent]) -> None:
        """A local commit: announce it, then deliver what is next in line for each run."""
        committed = events if isinstance(events, list) else list(events)
        if not committed:
            return
        self._notifier.publish(committed)
        last = self._last
        fresh: list[ExecutionEvent] = []
        for event in committed:
            known = last.get(event.run_id)
            if known is None:
                known = self._finished.get(event.run_id)
                if known is None:  # first sight in this process: the baseline
                    known = event.seq - 1
            if event.seq == known + 1:
                fresh.append(event)
                last[event.run_id] = event.seq
            elif event.seq > known + 1:  # another process wrote the seqs between
                last.setdefault(event.run_id, known)
                self._catch_up(event.run_id, event.seq)
        self._deliver(fresh if len(fresh) != len(committed) else committed)

    def remote_commit(self, run_id: RunId, first: int, last: int) -> None:
        """Another process committed ``first..last`` of ``run_id``: read and deliver them."""
        known = self._last.get(run_id)
        if known is None:
            if run_id in self._finished:
                return
            self._last[run_id] = first - 1
        elif last <= known:
            return
        self._catch_up(run_id, last)

    def track(self, run_id: RunId, last_seq: int) -> None:
        """Follow ``run_id`` from ``last_seq`` on (a subscriber cares about it), unless known.

        Without this, a run no event of which reached this process yet would
        not be caught up after a lost notification connection.
        """
        if run_id not in self._last and run_id not in self._finished:
            self._last[run_id] = last_seq

    def resync(self) -> None:
        """Notifications may have been lost: read every running run's new events."""
        for run_id in list(self._last):
            self._catch_up(run_id, _ALL)

    def _catch_up(self, run_id: RunId, target: int) -> None:
        if target > self._targets.get(run_id, 0):
            self._targets[run_id] = target
        if run_id not in self._catching_up:
            self._catching_up[run_id] = asyncio.get_running_loop().create_task(
                self._read(run_id), name=f"orchestra-catch-up {run_id}"
            )

    async def _read(self, run_id: RunId) -> None:
        try:
            while run_id in self._last and self._last[run_id] < self._targets.get(run_id, 0):
                target = self._targets[run_id]
                events = await self._reader(run_id, self._last[run_id])
                fresh: list[ExecutionEvent] = []
                for event in events:  # local commits may have advanced meanwhile
                    known = self._last.get(run_id)
                    if known is not None and event.seq == known + 1:
                        fresh.append(event)
                        self._last[run_id] = event.seq
                self._deliver(fresh)
                if not fresh and self._targets.get(run_id) == target:
                    break  # the store has nothing newer (target _ALL, or already delivered)
        except Exception:
            log.exception(
                "catching up run %s from the store failed; the next commit retries", run_id
            )
        finally:
            del self._catching_up[run_id]
            self._targets.pop(run_id, None)

    def _deliver(self, events: list[ExecutionEvent]) -> None:
        if not events:
            return
        for sink in self._sinks:
            sink.publish(events)
        for event in events:
            if event.type is EventType.RUN_FINISHED:
                self._retire(event.run_id, event.seq)

    def _retire(self, run_id: RunId, seq: int) -> None:
        self._last.pop(run_id, None)
        self._finished[run_id] = seq
        if len(self._finished) > self.FINISHED_LIMIT:
            self._finished.popitem(last=False)

    async def aclose(self) -> None:
        """Stop catching up (the store is closing)."""
        tasks = list(self._catching_up.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
