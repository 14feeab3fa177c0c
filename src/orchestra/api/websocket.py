"""WebSocket ``/api/v1/ws``: follow runs live, with replay, heartbeats and slow-consumer cut-off.

One connection holds any number of subscriptions. ``subscribe`` to a run
replays its stored events after ``after`` and then follows live ones, per run
in ``seq`` order with no gap and no duplicate (the engine's ``EventBus``
registers before reading the store and drops what it already replayed).
``run_id: "*"`` follows every run live. ``{"type": "subscribe", "channel": "tasks"}``
(or ``"agents"``) replays every task update (agent state change) after ``after`` and
follows new ones, ``task_update`` / ``agent_transition`` messages with their ``seq``.
``{"type": "subscribe", "channel": "messages", "topic": "review.#"}`` follows the
message bus live (:mod:`orchestra.api.message_channel`).

Outgoing messages go through one bounded queue per connection drained by a
sender task. Replayed events wait for room (a big replay is not "slow"); a
*live* event that finds the queue full means the client fell more than the
buffer behind: the connection is closed with **4408** and the client
reconnects with its last ``seq``. Publishing never waits on a client, so a
slow client never slows the engine.

Authentication: subprotocols ``orchestra.v1, bearer.<key>``, or
``orchestra.v1`` and a first message ``{"type": "auth", "key": …}`` within
``ws_auth_timeout_s``. Failures close with **4401**. Keys are never logged.

Hostile input gets an answer at once, never a stalled connection: a binary
frame, a message that is not a JSON object (or nests too deeply to parse) or
a malformed field is answered with an ``error`` message (stable ``code``) and
the connection stays usable; a message over ``ws_max_message_bytes`` closes
with **1009**; a browser ``Origin`` outside the allowlist closes with
**4403** before anything is read. A handler that fails unexpectedly closes
with **1011** at once (and is logged), instead of leaving a dead reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from orchestra.api.deps import LOOPBACK_HOSTS, ApiState, authenticate
from orchestra.api.errors import ApiError
from orchestra.api.message_channel import CHANNEL as MESSAGES
from orchestra.api.message_channel import checked_pattern, listen_messages
from orchestra.engine.errors import RunNotFound
from orchestra.engine.events import ExecutionEvent
from orchestra.engine.ids import RunId
from orchestra.runtime.container import Container
from orchestra.runtime.keys import Identity

log = logging.getLogger(__name__)

SUBPROTOCOL = "orchestra.v1"
BEARER = "bearer."
CLOSE_SHUTDOWN = 1001
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_SLOW = 4408
ALL_RUNS = "*"
RUN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What a run id can look like; anything else is refused before it reaches the store."""

CHANNELS = ("tasks", "agents")
CHANNEL_POLL_S = 0.5
"""How often a channel subscription looks for new rows (any process may write them)."""
CHANNEL_WINDOW = 200
"""Seqs below the highest sent that each poll reads again (late PostgreSQL commits)."""

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
    origin = websocket.headers.get("origin")
    if origin is not None and not origin_allowed(
        origin, websocket.headers.get("host"), state.options.ws_origins
    ):
        await _close(websocket, CLOSE_FORBIDDEN, "origin_not_allowed: add it to server.ws_origins")
        return
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


def origin_allowed(origin: str, host: str | None, allowed: tuple[str, ...]) -> bool:
    """Browsers send ``Origin``; a page from another site must not ride on a user's key.

    Allowed: an origin listed in ``allowed`` (``"*"`` allows any), the server's
    own origin (same host and port as the ``Host`` header), and pages served
    from this machine (``localhost``, ``127.0.0.1``, ``::1``: the web UI's dev server).
    """
    origin = origin.rstrip("/")
    if "*" in allowed or origin in {a.rstrip("/") for a in allowed}:
        return True
    try:
        parts = urlsplit(origin)
        origin_host = parts.hostname
        origin_netloc = parts.netloc
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not origin_host:
        return False
    return origin_host in LOOPBACK_HOSTS or (host is not None and origin_netloc == host)


async def _receive_text(websocket: WebSocket, limit: int) -> str | None:
    """The next text message; None for a binary frame. Raises on disconnect or oversize."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    if text is None:
        return None
    if len(text) > limit or (
        len(text) * 4 > limit and len(text.encode("utf-8", "replace")) > limit
    ):
        raise _Closing(CLOSE_TOO_BIG, f"message_too_big: messages are limited to {limit} bytes")
    return str(text)


async def _identify(
    websocket: WebSocket, state: ApiState, key: str | None, client: str | None
) -> Identity:
    if key is None and not state.options.insecure_local:
        try:
            async with asyncio.timeout(state.options.ws_auth_timeout_s):
                first = await _receive_text(websocket, state.options.ws_max_message_bytes)
        except TimeoutError:
            raise _Closing(CLOSE_UNAUTHORIZED, "no auth message within the time limit") from None
        except WebSocketDisconnect:
            raise _Closing(CLOSE_UNAUTHORIZED, "disconnected before auth") from None
        message = _parse(first) if first is not None else None
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
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python recurses
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
        self._unlisten_messages: Any = None

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
        for task in tasks:
            task.add_done_callback(self._check)
        try:
            await self.done.wait()
        finally:
            if self._unlisten_all is not None:
                self._unlisten_all()
            if self._unlisten_messages is not None:
                self._unlisten_messages()
            every = tasks + list(self.subscriptions.values())
            for task in every:
                task.cancel()
            await asyncio.gather(*every, return_exceptions=True)
        if self.close_code is not None:
            await _close(self.websocket, self.close_code, self.close_reason)

    def _check(self, task: asyncio.Task[None]) -> None:
        """A loop that died of a bug closes the connection now, not at the next ping timeout."""
        if not task.cancelled() and task.exception() is not None:
            log.error("WebSocket task %s failed", task.get_name(), exc_info=task.exception())
            self.finish(CLOSE_INTERNAL, "internal_error: the server failed; reconnect")

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
        limit = self.state.options.ws_max_message_bytes
        try:
            while True:
                text = await _receive_text(self.websocket, limit)
                if text is None:
                    self.push(
                        _error(
                            "unsupported_frame", "binary frames are not accepted; send JSON text"
                        )
                    )
                    continue
                message = _parse(text)
                if message is None:
                    self.push(
                        _error(
                            "validation_error",
                            "messages must be JSON objects (nested at most a few hundred levels)",
                        )
                    )
                    continue
                await self._handle(message)
        except _Closing as closing:
            self.finish(closing.code, closing.reason)
        except (WebSocketDisconnect, RuntimeError):
            self.finish(None)

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "subscribe":
            await self._subscribe(message)
        elif kind == "unsubscribe":
            run_id = message.get("run_id")
            channel = message.get("channel")
            if isinstance(run_id, str):
                self._unsubscribe(run_id)
            elif channel == MESSAGES:
                self._unsubscribe_messages()
            elif channel in CHANNELS:
                self._unsubscribe(f"channel:{channel}")
        elif kind in ("pong", "auth"):
            return
        else:
            self.push(
                _error(
                    "validation_error",
                    f"unknown message type {_clip(kind)}; use subscribe, unsubscribe or pong",
                )
            )

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if "channel" in message:
            await self._subscribe_channel(message)
            return
        run_id = message.get("run_id")
        after = message.get("after", 0)
        if not isinstance(run_id, str) or not (run_id == ALL_RUNS or RUN_ID.fullmatch(run_id)):
            self.push(
                _error(
                    "validation_error",
                    'subscribe needs a run_id (letters, digits, "-" or "_", at most 64) or "*"',
                )
            )
            return
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**62:
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

    async def _subscribe_channel(self, message: dict[str, Any]) -> None:
        channel = message.get("channel")
        after = message.get("after", 0)
        if channel == MESSAGES:
            self._subscribe_messages(message)
            return
        if channel not in CHANNELS:
            self.push(_error("validation_error", 'channel must be "tasks", "agents" or "messages"'))
            return
        if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after < 2**62:
            self.push(_error("validation_error", "after must be an integer >= 0"))
            return
        key = f"channel:{channel}"
        self._unsubscribe(key)
        self.push({"type": "subscribed", "channel": channel, "after": after})
        self.subscriptions[key] = asyncio.create_task(
            self._follow_channel(str(channel), after), name=f"ws-follow {key}"
        )

    async def _follow_channel(self, channel: str, after: int) -> None:
        """Replay the channel's rows after ``after``, then poll for new ones.

        Rows carry the table's autoincrement id as ``seq``. PostgreSQL may commit ids out
        of order, so each poll re-reads a window below the highest seq sent and drops
        the ones already sent: a row committed late is still delivered, once."""
        tasks = self.container.tasks
        sent: set[int] = set()
        highest = after
        replaying = True
        while not self.done.is_set():
            since = after if replaying else max(after, highest - CHANNEL_WINDOW)
            if channel == "tasks":
                rows: list[Any] = await tasks.tasks.updates(after=since, limit=500)
            else:
                rows = await tasks.agents.transitions(after=since, limit=500)
            fresh = [row for row in rows if row.id not in sent]
            for row in fresh:
                body = _channel_message(channel, row)
                if replaying:
                    await self.out.put(json.dumps(body, separators=(",", ":")))
                else:
                    self.push(body)
                sent.add(row.id)
                highest = max(highest, row.id)
            if len(sent) > 4 * CHANNEL_WINDOW:
                sent = {seq for seq in sent if seq > highest - CHANNEL_WINDOW}
            if replaying and len(rows) == 500:
                after = highest
                continue
            replaying = False
            await asyncio.sleep(CHANNEL_POLL_S)

    def _subscribe_messages(self, message: dict[str, Any]) -> None:
        try:
            pattern = checked_pattern(message.get("topic"))
        except ValueError as error:
            self.push(_error("validation_error", str(error)))
            return
        self._unsubscribe_messages()
        self.push({"type": "subscribed", "channel": MESSAGES, "topic": pattern})
        self._unlisten_messages = listen_messages(self.container.messages, pattern, self.push)

    def _unsubscribe_messages(self) -> None:
        if self._unlisten_messages is not None:
            self._unlisten_messages()
            self._unlisten_messages = None

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


def _channel_message(channel: str, row: Any) -> dict[str, Any]:
    if channel == "tasks":
        return {
            "type": "task_update",
            "seq": row.id,
            "task_id": row.task_id,
            "at": row.at,
            "kind": row.kind,
            "source": row.source,
            "target": row.target,
            "note": row.note,
            "by": row.by,
        }
    return {
        "type": "agent_transition",
        "seq": row.id,
        "agent": row.agent,
        "at": row.at,
        "source": None if row.source is None else row.source.value,
        "target": row.target.value,
        "by": row.by,
        "reason": row.reason,
    }


def _clip(value: object) -> str:
    """A client's value quoted in an error, short: never echo a huge message back."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _error(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message}
