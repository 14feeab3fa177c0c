"""Execution events and the in-process publish/subscribe that follows a run live.

An event is published only after the transaction that stored it has committed
(stores call :meth:`EventBus.publish` from their commit hook), and every run
numbers its events 1, 2, 3 … with no gap. A subscriber therefore replays the
stored events after the sequence number it already has, then follows live
events, dropping any it already replayed: no gap, no duplicate.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from orchestra.engine.ids import RunId, StepId


class EventType(StrEnum):
    RUN_STARTED = "run_started"
    STEP_STARTED = "step_started"
    LOG = "log"
    AGENT_THOUGHT = "agent_thought"
    TOKEN = "token"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    STEP_COMPLETE = "step_complete"
    STEP_FAILED = "step_failed"
    APPROVAL_REQUESTED = "approval_requested"
    RUN_FINISHED = "run_finished"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class ExecutionEvent:
    """One thing that happened in a run. ``seq`` is contiguous per run, starting at 1."""

    type: EventType
    timestamp: float
    run_id: RunId
    step_id: StepId | None
    seq: int
    content: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type.value,
            "timestamp": self.timestamp,
            "run_id": self.run_id,
            "step_id": self.step_id,
            "seq": self.seq,
            "content": self.content,
        }


EventReader = Callable[[RunId, int], Awaitable[list[ExecutionEvent]]]
"""Reads the stored events of a run with ``seq > after``, in order."""


class EventBus:
    """Fans committed events out to subscribers, per run, in sequence order."""

    def __init__(self, reader: EventReader) -> None:
        self._reader = reader
        self._subscribers: dict[RunId, set[asyncio.Queue[ExecutionEvent]]] = {}

    def publish(self, events: Iterable[ExecutionEvent]) -> None:
        """Deliver committed events. Called by the store after each commit, in seq order."""
        subscribers = self._subscribers
        if not subscribers:
            return
        for event in events:
            queues = subscribers.get(event.run_id)
            if queues:
                for queue in queues:
                    queue.put_nowait(event)

    async def subscribe(
        self, run_id: RunId, after_seq: int = 0, *, until_finished: bool = True
    ) -> AsyncIterator[ExecutionEvent]:
        """Yield the run's events with ``seq > after_seq``: stored ones first, then live ones.

        Stops after ``run_finished`` when ``until_finished`` is true; otherwise
        follows until the caller stops iterating.
        """
        queue: asyncio.Queue[ExecutionEvent] = asyncio.Queue()
        # Register before reading the store: an event committed meanwhile is
        # then either in the replay or in the queue (or both, and deduplicated).
        self._subscribers.setdefault(run_id, set()).add(queue)
        last = after_seq
        try:
            for event in await self._reader(run_id, after_seq):
                last = event.seq
                yield event
                if until_finished and event.type is EventType.RUN_FINISHED:
                    return
            while True:
                event = await queue.get()
                if event.seq <= last:
                    continue
                if event.seq != last + 1:
                    # Published out of order or from a batch we missed: fill from the store.
                    for missed in await self._reader(run_id, last):
                        if missed.seq > last:
                            last = missed.seq
                            yield missed
                            if until_finished and missed.type is EventType.RUN_FINISHED:
                                return
                    continue
                last = event.seq
                yield event
                if until_finished and event.type is EventType.RUN_FINISHED:
                    return
        finally:
            queues = self._subscribers.get(run_id)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._subscribers[run_id]
