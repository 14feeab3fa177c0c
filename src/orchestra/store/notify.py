"""Commit notifiers: how one process learns that another committed events.

:class:`InProcessNotifier` is for a database only this process writes (SQLite,
one ``orchestra serve`` or one CLI run): it has nobody to tell and hears
nothing. Live events across processes on SQLite are not supported; a second
process's events appear in the store (and in a fresh subscription's replay)
but not live.

:class:`PostgresNotifier` uses ``LISTEN/NOTIFY`` on one dedicated asyncpg
connection. After each local commit it sends ``pg_notify`` with the run id
and the batch's first and last seq (a payload per run, tagged with this
process's token so it ignores its own); each received notification is handed
to the listeners, which read the events from the store by seq. NOTIFY goes
out right *after* the commit (the store's commit hook), so a crash between
commit and NOTIFY delays that notification until the next one for the run,
never loses events: readers always catch up by seq. The connection is
checked every ``keepalive_s`` and re-opened when it drops; listeners are then
told to resync, since notifications sent while it was down are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import make_url

from orchestra.engine.events import ExecutionEvent
from orchestra.engine.ids import RunId
from orchestra.engine.protocols import CommitListener

log = logging.getLogger(__name__)

CHANNEL = "orchestra_events"


class InProcessNotifier:
    """No other process to tell: local sinks already got the events from the store."""

    def publish(self, events: Sequence[ExecutionEvent]) -> None:
        return

    def listen(self, on_commit: CommitListener, on_resync: Callable[[], None]) -> None:
        return

    async def start(self) -> None:
        return

    async def aclose(self) -> None:
        return


class PostgresNotifier:
    """``LISTEN/NOTIFY`` on channel :data:`CHANNEL`, over one connection that reconnects."""

    def __init__(
        self, url: str, *, keepalive_s: float = 5.0, retry_s: float = 1.0, channel: str = CHANNEL
    ) -> None:
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._channel = channel
        self._keepalive_s = keepalive_s
        self._retry_s = retry_s
        self.token = uuid.uuid4().hex[:16]
        """Tags this process's notifications, so it does not react to its own."""
        self._pending: dict[RunId, tuple[int, int]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[tuple[CommitListener, Callable[[], None]]] = []
        self._connected = asyncio.Event()
        self._closing = False

    def publish(self, events: Sequence[ExecutionEvent]) -> None:
        for event in events:
            self._pend(event.run_id, event.seq, event.seq)
        if events:
            self._wake.set()

    def listen(self, on_commit: CommitListener, on_resync: Callable[[], None]) -> None:
        self._listeners.append((on_commit, on_resync))

    async def start(self) -> None:
        """Open the connection (waiting for the first LISTEN, so nothing after this is missed)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="orchestra-notify")
            waiter = asyncio.create_task(self._connected.wait())
            done, _ = await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
            if self._task in done:
                waiter.cancel()
                await self._task  # raises why it stopped

    async def aclose(self) -> None:
        """Send what is pending (best effort), then close."""
        task, self._task = self._task, None
        if task is None:
            return
        self._closing = True
        self._wake.set()
        try:
            async with asyncio.timeout(5):
                await task
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        except Exception:  # shutting down: say why the connection had stopped, do not fail
            log.exception("the notify connection had stopped with an error")

    async def _run(self) -> None:
        import asyncpg  # type: ignore[import-untyped]  # the `distributed` extra, PostgreSQL only

        first = True
        while not (self._closing and not first):
            try:
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as error:
                if first:
                    raise
                log.warning("notify connection failed (%s); retrying", error)
                await asyncio.sleep(self._retry_s)
                continue
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _connection, event=lost: event.set())
            try:
                await connection.add_listener(self._channel, self._received)
                if not first:
                    log.info("notify connection re-opened; catching up")
                    self._resync()
                first = False
                self._connected.set()
                if await self._serve(connection, lost):
                    return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                if first:
                    raise
                log.warning("notify connection lost (%s); re-opening", error)
            finally:
                with contextlib.suppress(Exception):
                    await connection.close(timeout=2)
            await asyncio.sleep(self._retry_s)

    async def _serve(self, connection: Any, lost: asyncio.Event) -> bool:
        """Send pending notifications until the connection drops (False) or we close (True)."""
        while True:
            if not self._pending:
                if self._closing:
                    return True
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._keepalive_s):
                        await self._wake.wait()
            if lost.is_set() or connection.is_closed():
                return False
            pending, self._pending = self._pending, {}
            payloads = [
                json.dumps({"p": self.token, "r": run_id, "f": first, "l": last})
                for run_id, (first, last) in pending.items()
            ]
            try:
                async with asyncio.timeout(self._keepalive_s * 2):
                    if payloads:
                        await connection.execute(
                            "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p",
                            self._channel,
                            payloads,
                        )
                    else:
                        await connection.execute("SELECT 1")  # keepalive: find a dead socket
            except BaseException:
                for run_id, span in pending.items():  # resend after reconnecting
                    self._pend(run_id, *span)
                raise

    def _pend(self, run_id: RunId, first: int, last: int) -> None:
        known = self._pending.get(run_id)
        self._pending[run_id] = (
            (first, last) if known is None else (min(known[0], first), max(known[1], last))
        )

    def _received(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
            if message["p"] == self.token:
                return
            run_id, first, last = RunId(str(message["r"])), int(message["f"]), int(message["l"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed notification on %s: %.200r", self._channel, payload)
            return
        for on_commit, _ in self._listeners:
            try:
                on_commit(run_id, first, last)
            except Exception:
                log.exception("commit listener failed; it stays registered")

    def _resync(self) -> None:
        for _, on_resync in self._listeners:
            try:
                on_resync()
            except Exception:
                log.exception("resync listener failed; it stays registered")
