"""The worker side: Celery threads hand each delivered step to one asyncio loop.

An ``orchestra worker`` runs a Celery worker with the ``threads`` pool: each of its
``--concurrency`` threads takes a message and blocks until the step's attempt ended,
while the attempt itself runs on this consumer's event loop (one thread, one store,
one gateway for the whole process), through the engine's own
:class:`~orchestra.engine.execution.StepExecution` — the code the local executor runs.

Before executing, the consumer drops a message whose step is finished, or held by a
live lease of another process (a duplicate: re-sent by a reconciler, or delivered
again by Redis after the visibility timeout). Afterwards it publishes the step on the
done channel. Every ``heartbeat_s`` it writes its heartbeat (queues, current steps).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestra.distributed import signals
from orchestra.distributed.config import DistributedConfig
from orchestra.engine.execution import StepExecution
from orchestra.engine.ids import RunId, StepId, owner_is_dead
from orchestra.engine.states import StepStatus

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Host:
    """What the consumer runs steps with, opened on its loop; ``close`` releases it."""

    execution: StepExecution
    close: Callable[[], Awaitable[None]]


class StepConsumer:
    """Executes delivered steps on its own event loop thread. ``start``, then ``handle``
    from any thread, then ``stop``."""

    def __init__(
        self,
        config: DistributedConfig,
        name: str,
        queues: list[str],
        concurrency: int,
        open_host: Callable[[], Awaitable[Host]],
        *,
        heartbeat_s: float = 2.0,
    ) -> None:
        self.config = config
        self.name = name
        self.queues = queues
        self.concurrency = concurrency
        self._open_host = open_host
        self._heartbeat_s = heartbeat_s
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="orchestra-steps")
        self._host: Host | None = None
        self._redis: Redis | None = None
        self._beat: asyncio.Task[None] | None = None
        self.current: dict[tuple[str, str], float] = {}
        """Steps being executed here, with the time each started."""

    def start(self) -> None:
        """Start the loop and open the host on it (raises what opening raised)."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self._loop).result()

    async def _open(self) -> None:
        self._host = await self._open_host()
        self._host.execution.claim_content = {"worker": self.name}
        self._redis = signals.connect(self.config.broker_url)
        self._beat = asyncio.create_task(self._heartbeats(), name="orchestra-worker-heartbeat")

    def received(self, run_id: str, step_id: str) -> None:
        """A message was reserved by this worker (Celery's consumer thread): its queued
        marker goes now, not when a thread starts it. A worker killed with messages
        reserved but not started leaves them unacknowledged until the visibility
        timeout; with their markers gone, the executor's reconciler re-sends at once."""
        if self._redis is None:
            return
        redis = self._redis

        async def drop() -> None:
            await redis.delete(signals.queued_key(run_id, step_id))

        future = asyncio.run_coroutine_threadsafe(drop(), self._loop)
        with contextlib.suppress(Exception):  # Redis down: the marker expired with it
            future.result(timeout=5)

    def handle(self, run_id: str, step_id: str) -> None:
        """The Celery task body: run the step to the end of its attempt (blocking)."""
        asyncio.run_coroutine_threadsafe(self.run(run_id, step_id), self._loop).result()

    async def run(self, run_id: str, step_id: str) -> None:
        assert self._host is not None and self._redis is not None
        rid, sid = RunId(run_id), StepId(step_id)
        with contextlib.suppress(Exception):
            await self._redis.delete(signals.queued_key(run_id, step_id))
        store = self._host.execution.store
        try:
            record = await store.get_run(rid)
            step = record.steps.get(sid)
            if step is None or record.status.terminal or step.status.terminal:
                return
            if (
                step.status is StepStatus.RUNNING
                and (step.lease_expires_at or 0.0) > time.time()
                and not owner_is_dead(step.lease_owner)
            ):
                log.info(
                    "step %r of run %s is held by %s; message dropped", sid, rid, step.lease_owner
                )
                return
            self.current[(run_id, step_id)] = time.time()
            try:
                outcome = await self._host.execution.execute(rid, sid)
            finally:
                self.current.pop((run_id, step_id), None)
            log.info("step %r of run %s ended %s", sid, rid, outcome.status.value)
        except Exception:
            # The store failed: the step stays claimable and the driver's reconciler
            # re-sends it; acknowledging this message loses nothing.
            log.exception("executing step %r of run %s failed", sid, rid)
        finally:
            with contextlib.suppress(Exception):
                await self._redis.publish(
                    signals.DONE_CHANNEL, signals.done_payload(run_id, step_id)
                )

    def status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "queues": self.queues,
            "concurrency": self.concurrency,
            "steps": [
                {"run_id": run, "step_id": step, "since": since}
                for (run, step), since in sorted(self.current.items())
            ],
            "heartbeat": time.time(),
        }

    async def _heartbeats(self) -> None:
        assert self._redis is not None
        key = signals.WORKER_PREFIX + self.name
        while True:
            try:
                await self._redis.set(
                    key, json.dumps(self.status()), ex=max(3, int(self._heartbeat_s * 5))
                )
            except Exception as exc:  # Redis restarting: the next beat writes it again
                log.debug("worker heartbeat failed: %s", exc)
            await asyncio.sleep(self._heartbeat_s)

    def stop(self) -> None:
        """Close the host and stop the loop (after Celery finished its tasks)."""
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    async def _close(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.delete(signals.WORKER_PREFIX + self.name)
                await self._redis.aclose()
        if self._host is not None:
            await self._host.close()
