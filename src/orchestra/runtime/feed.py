"""Every committed event of every run, to in-process listeners (live "*" views, metrics).

The engine's :class:`~orchestra.engine.events.EventBus` follows one run with
replay; this feed is the firehose beside it. The store calls :meth:`publish`
after each commit, on the event loop, in sequence order per run. Listeners must
not block: they copy what they need and return. A listener that raises is
logged and kept, so one broken view never breaks a commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.ids import RunId

log = logging.getLogger(__name__)

Listener = Callable[[ExecutionEvent], None]


class EventFeed:
    """An :class:`~orchestra.engine.protocols.EventSink` that fans events out to listeners."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._latest: dict[RunId, int] = {}

    def publish(self, events: Iterable[ExecutionEvent]) -> None:
        for event in events:
            if event.seq > self._latest.get(event.run_id, 0):
                self._latest[event.run_id] = event.seq
            for listener in tuple(self._listeners):
                try:
                    listener(event)
                except Exception:
                    log.exception("event listener %r failed; it stays registered", listener)

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Register ``listener``; call the returned function to remove it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def latest_seq(self, run_id: RunId) -> int:
        """The highest seq committed for ``run_id`` since this process started (0 if none)."""
        return self._latest.get(run_id, 0)


class ActiveSteps:
    """Feed listener: which agents have a step attempt running right now (this process's view)."""

    def __init__(self) -> None:
        self._running: dict[tuple[RunId, str | None], str] = {}

    def observe(self, event: ExecutionEvent) -> None:
        key = (event.run_id, event.step_id)
        if event.type is EventType.STEP_STARTED:
            self._running[key] = str(event.content.get("agent", ""))
        elif event.type in (EventType.STEP_COMPLETE, EventType.STEP_FAILED):
            self._running.pop(key, None)
        elif event.type is EventType.RUN_FINISHED:
            for stale in [k for k in self._running if k[0] == event.run_id]:
                del self._running[stale]

    def agents(self) -> set[str]:
        return set(self._running.values())
