"""What the executor and the workers tell each other through Redis, besides the queue.

* **Queued markers** ``orchestra:queued:<run>:<step>``: set by the executor when it
  sends a step, deleted by the worker that receives it. A step still unclaimed in the
  store whose marker is gone lost its message (Redis flushed or restarted): the
  executor's reconciler sends it again.
* **Done channel** ``orchestra:steps-done``: a worker publishes ``<run> <step>`` after
  a step's attempt ended, so the waiting executor reads the outcome from the store at
  once instead of at its next reconcile tick. Only a wake-up: the store is the truth,
  and a lost message costs one tick.
* **Worker heartbeats** ``orchestra:worker:<name>``: JSON with queues, current steps
  and the time, refreshed every few seconds with an expiry (``orchestra workers list``).

Nothing here is required for correctness: with Redis gone, the executor's reconcile
ticks read the store and re-send when Redis is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

DONE_CHANNEL = "orchestra:steps-done"
WORKER_PREFIX = "orchestra:worker:"


def queued_key(run_id: str, step_id: str) -> str:
    return f"orchestra:queued:{run_id}:{step_id}"


def connect(url: str) -> Redis:
    """A Redis client for ``url`` (lazy import: only distributed processes load redis)."""
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)


def done_payload(run_id: str, step_id: str) -> str:
    return f"{run_id} {step_id}"


class DoneListener:
    """Follows the done channel and calls ``on_done(run_id, step_id)``; after a lost
    connection it reconnects and calls ``on_resync()`` (messages meanwhile are gone)."""

    def __init__(
        self,
        url: str,
        on_done: Callable[[str, str], None],
        on_resync: Callable[[], None],
        *,
        retry_s: float = 0.5,
    ) -> None:
        self._url = url
        self._on_done = on_done
        self._on_resync = on_resync
        self._retry_s = retry_s
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._follow(), name="orchestra-steps-done"
            )

    async def _follow(self) -> None:
        first = True
        while True:
            client = connect(self._url)
            try:
                pubsub = client.pubsub()
                await pubsub.subscribe(DONE_CHANNEL)
                if not first:
                    self._on_resync()
                first = False
                self.subscribed.set()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
                    if message is None:
                        await pubsub.ping()  # notices a dead connection
                        continue
                    data = message.get("data")
                    text = data.decode() if isinstance(data, bytes) else str(data)
                    run_id, _, step_id = text.partition(" ")
                    if step_id:
                        self._on_done(run_id, step_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis down or restarted: retry, then resync
                self.subscribed.clear()
                log.warning("steps-done channel lost (%s); reconnecting", exc)
                await asyncio.sleep(self._retry_s)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


async def read_workers(client: Redis) -> list[dict[str, Any]]:
    """Every worker whose heartbeat has not expired, by name."""
    found: list[dict[str, Any]] = []
    async for key in client.scan_iter(match=f"{WORKER_PREFIX}*", count=200):
        raw = await client.get(key)
        if raw is None:
            continue
        with contextlib.suppress(ValueError):
            found.append(json.loads(raw))
    return sorted(found, key=lambda worker: str(worker.get("name")))
