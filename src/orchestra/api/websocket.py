"""WebSocket ``/api/v1/ws``: follow runs live, with replay, heartbeats and slow-consumer cut-off.

One connection holds any number of subscriptions. ``subscribe`` to a run
replays its stored events after ``after`` and then follows live ones, per run
in ``seq`` order with no gap and no duplicate (the engine's ``EventBus``
registers before reading the store and drops what it already replayed).
``run_id: "*"`` follows every run live.

Outgoing messages go through one bounded queue per connection drained by a
sender task. Replayed events wait for room (a big replay is not "slow"); a
*live* event that finds the queue full means the client fell more than the
buffer behind: the connection is closed with **4408** and the client
reconnects with its last ``seq``. Publishing never waits on a client, so a
slow client never slows the engine.

Authentication: subprotocols ``orchestra.v1, bearer.<key>``, or
``orchestra.v1`` and a first message ``{"type": "auth", "key": …}`` within
``ws_auth_timeout_s``. Failures close with **4401**. Keys are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from orchestra.api.deps import ApiState, authenticate
from orchestra.api.errors import ApiError
from orchestra.engine.errors import RunNotFound
from orchestra.engine.events import ExecutionEvent
from orchestra.engine.ids import RunId
from orchestra.runtime.container import Container
from orchestra.runtime.keys import Identity

log = logging.getLogger(__name__)

SUBPROTOCOL = "orchestra.v1"
BEARER = "bearer."
CLOSE_SHUTDOWN = 1001
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_SLOW = 4408
ALL_RUNS = "*"

router = APIRouter()


class _Closing(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    state: ApiState = websocket.app.state.api
    offered: list[str] = list(websocket.scope.get("subprotocols") or [])
    key = next((p[len(BEARER) :] for p in offered if p.startswith(BEARER)), None)
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    container = state.container
    if container is None:
        await websocket.close(CLOSE_SHUTDOWN, "server is starting or stopping")
        return
    client = websocket.client.host if websocket.client else None
    try:
        identity = await _identify(websocket, state, key, client)
    except _Closing as closing:
        await _close(websocket, closing.code, closing.reason)
        return
    connection = _Connection(websocket, state, container, identity)
    await connection.serve()


async def _identify(
    websocket: WebSocket, state: ApiState, key: str | None, client: str | None
) -> Identity:
    if key is None and not state.options.insecure_local:
        try:
            async with asyncio.timeout(state.options.ws_auth_timeout_s):
                first = await websocket.receive_text()
        except TimeoutError:
            raise _Closing(CLOSE_UNAUTHORIZED, "no auth message within the time limit") from None
        except WebSocketDisconnect:
            raise _Closing(CLOSE_UNAUTHORIZED, "disconnected before auth") from None
        message = _parse(first)
        if message is None or message.get("type") != "auth" or not message.get("key"):
            raise _Closing(CLOSE_UNAUTHORIZED, 'first message must be {"type": "auth", "key": …}')
        key = str(message["key"])
    try:
        identity = await authenticate(state, key, client)
    except ApiError as error:
        raise _Closing(CLOSE_UNAUTHORIZED, error.code) from None
    if state.limiter.check(identity.key_id) is not None:
        raise _Closing(CLOSE_FORBIDDEN, "rate limited; retry later")
    return identity


def _parse(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    # A client that reads nothing cannot take the close frame either: do not wait forever.
    with contextlib.suppress(Exception):
        async with asyncio.timeout(5):
            await websocket.close(code, reason[:120])


class _Connection:
    def __init__(
        self, websocket: WebSocket, state: ApiState, container: Container, identity: Identity
    ) -> None:
        self.websocket = websocket
        self.state = state
        self.container = container
        self.identity = identity
        self.out: asyncio.Queue[str] = asyncio.Queue(maxsize=state.options.ws_buffer)
        self.subscriptions: dict[str, asyncio.Task[None]] = {}
        self.done = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self._unlisten_all: Any = None

    def finish(self, code: int | None, reason: str = "") -> None:
        if not self.done.is_set():
            self.close_code = code
            self.close_reason = reason
            self.done.set()

    def push(self, message: dict[str, Any]) -> None:
        """Queue a live message, or cut off a client that fell more than the buffer behind."""
        if self.done.is_set():
            return
        try:
            self.out.put_nowait(json.dumps(message, separators=(",", ":")))
        except asyncio.QueueFull:
            self.finish(
                CLOSE_SLOW,
                "slow consumer: fell more than the buffer behind; reconnect with your last seq",
            )

    async def serve(self) -> None:
        tasks = [
            asyncio.create_task(self._send_loop(), name="ws-send"),
            asyncio.create_task(self._read_loop(), name="ws-read"),
            asyncio.create_task(self._ping_loop(), name="ws-ping"),
            asyncio.create_task(self._watch_shutdown(), name="ws-shutdown"),
        ]
        try:
            await self.done.wait()
        finally:
            if self._unlisten_all is not None:
                self._unlisten_all()
            every = tasks + list(self.subscriptions.values())
            for task in every:
                task.cancel()
            await asyncio.gather(*every, return_exceptions=True)
        if self.close_code is not None:
            await _close(self.websocket, self.close_code, self.close_reason)

    async def _watch_shutdown(self) -> None:
        await self.state.stopping.wait()
        self.finish(CLOSE_SHUTDOWN, "server shutting down; reconnect with your last seq")

    async def _send_loop(self) -> None:
        try:
            while True:
                await self.websocket.send_text(await self.out.get())
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.finish(None)

    async def _ping_loop(self) -> None:
        while True:
            await asyncio.sleep(self.state.options.ws_ping_s)
            self.push({"type": "ping", "t": time.time()})

    async def _read_loop(self) -> None:
        try:
            while True:
                message = _parse(await self.websocket.receive_text())
                if message is None:
                    self.push(_error("validation_error", "messages must be JSON objects"))
                    continue
                await self._handle(message)
        except (WebSocketDisconnect, RuntimeError):
            self.finish(None)

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "subscribe":
            await self._subscribe(message)
        elif kind == "unsubscribe":
            run_id = str(message.get("run_id", ""))
            self._unsubscribe(run_id)
        elif kind in ("pong", "auth"):
            return
        else:
            self.push(
                _error(
                    "validation_error",
                    f"unknown message type {kind!r}; use subscribe, unsubscribe or pong",
                )
            )

    async def _subscribe(self, message: dict[str, Any]) -> None:
        run_id = message.get("run_id")
        after = message.get("after", 0)
        if not isinstance(run_id, str) or not run_id:
            self.push(_error("validation_error", 'subscribe needs a run_id (or "*")'))
            return
        if not isinstance(after, int) or isinstance(after, bool) or after < 0:
            self.push(_error("validation_error", "after must be an integer >= 0"))
            return
        self._unsubscribe(run_id)
        if run_id == ALL_RUNS:
            self.push({"type": "subscribed", "run_id": ALL_RUNS, "after": after})
            self._unlisten_all = self.container.feed.listen(self._on_any_event)
            return
        try:
            record = await self.container.store.get_run(RunId(run_id))
        except RunNotFound as missing:
            self.push(_error("not_found", str(missing)))
            return
        self.push({"type": "subscribed", "run_id": run_id, "after": after})
        # Events another process commits from here on reach this process by notification.
        self.container.relay.track(RunId(run_id), record.last_seq)
        live_from = max(record.last_seq, self.container.feed.latest_seq(RunId(run_id)))
        self.subscriptions[run_id] = asyncio.create_task(
            self._follow(RunId(run_id), after, live_from), name=f"ws-follow {run_id}"
        )

    def _unsubscribe(self, run_id: str) -> None:
        if run_id == ALL_RUNS:
            if self._unlisten_all is not None:
                self._unlisten_all()
                self._unlisten_all = None
            return
        task = self.subscriptions.pop(run_id, None)
        if task is not None:
            task.cancel()

    def _on_any_event(self, event: ExecutionEvent) -> None:
        self.push({"type": "event", "event": event.to_json()})

    async def _follow(self, run_id: RunId, after: int, live_from: int) -> None:
        async for event in self.container.bus.subscribe(run_id, after):
            message = {"type": "event", "event": event.to_json()}
            if event.seq <= live_from:  # replay: wait for room, the client is catching up
                await self.out.put(json.dumps(message, separators=(",", ":")))
            else:
                self.push(message)
                if self.done.is_set():
                    return


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}
