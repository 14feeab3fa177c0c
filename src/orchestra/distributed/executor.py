"""``CeleryExecutor``: the scheduler hands a ready step to a worker by its ids alone.

The driver (``orchestra run`` or ``orchestra serve``) keeps scheduling; for each ready
step this executor sends ``(run_id, step_id)`` to the step's queue
(:func:`~orchestra.distributed.routing.queue_for`) and waits until the store says the
step has finished — woken by the workers' done channel, and every
``reconcile_s`` regardless. On each wake it also **reconciles**: a step that is still
claimable (pending, or running under an expired lease or a dead process's lease) and
whose message is gone — its queued marker vanished with a flushed or restarted Redis,
or the worker that took it was killed — is sent again. A duplicate message is
harmless: a worker drops one whose step is finished or held by a live lease, and
claims are fenced, so a stale worker's late result is refused by the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from typing import TYPE_CHECKING

from orchestra.distributed import signals
from orchestra.distributed.celery_app import TASK, make_app
from orchestra.distributed.config import DistributedConfig
from orchestra.distributed.routing import queue_for
from orchestra.engine.events import EventType
from orchestra.engine.execution import StepExecution
from orchestra.engine.executor import ExecutorFactory
from orchestra.engine.ids import RunId, StepId, owner_is_dead
from orchestra.engine.protocols import StepOutcome, StepRecord
from orchestra.engine.states import StepStatus

if TYPE_CHECKING:
    from celery import Celery
    from redis.asyncio import Redis

    from orchestra.config.settings import Settings

log = logging.getLogger(__name__)


def claimable(record: StepRecord, now: float) -> bool:
    """Whether a worker could claim the step now (so someone must have a message for it)."""
    if record.status is StepStatus.PENDING:
        return True
    if record.status is not StepStatus.RUNNING:
        return False
    return (record.lease_expires_at or 0.0) < now or owner_is_dead(record.lease_owner)


def outcome_of(record: StepRecord) -> StepOutcome:
    error = record.error.get("message") if record.error else None
    return StepOutcome(
        record.step_id,
        record.status,
        dict(record.outputs),
        error=str(error) if error is not None else None,
        usage=record.usage,
    )


class CeleryExecutor:
    """An :class:`~orchestra.engine.protocols.Executor` whose steps run on Celery workers."""

    claims_ahead = False
    """Workers claim the steps; the driver must not claim them ahead for itself."""

    def __init__(self, execution: StepExecution, config: DistributedConfig | None = None) -> None:
        if config is None:
            raise ValueError(
                "the celery executor needs [distributed] broker_url; set it instead of "
                '[engine] executor = "celery"'
            )
        self.execution = execution
        self.store = execution.store
        self.config = config
        self.sent = 0
        """Messages sent, re-sends included (tests and benchmarks read it)."""
        self.resent = 0
        self._app: Celery | None = None
        self._redis: Redis | None = None
        self._listener: signals.DoneListener | None = None
        self._wakers: dict[tuple[str, str], asyncio.Event] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> ExecutorFactory:
        """The factory the builders use: this executor bound to ``[distributed]``."""
        return functools.partial(cls, config=DistributedConfig.from_settings(settings))

    def _start(self) -> tuple[Celery, Redis]:
        if self._app is None or self._redis is None:
            self._app = make_app(self.config)
            self._redis = signals.connect(self.config.broker_url)
            self._listener = signals.DoneListener(
                self.config.broker_url, self._on_done, self._on_resync
            )
            self._listener.start()
        return self._app, self._redis

    def _on_done(self, run_id: str, step_id: str) -> None:
        wake = self._wakers.get((run_id, step_id))
        if wake is not None:
            wake.set()

    def _on_resync(self) -> None:
        for wake in self._wakers.values():
            wake.set()

    async def execute(self, run_id: RunId, step_id: StepId) -> StepOutcome:
        app, redis = self._start()
        definition = await self.store.get_definition(run_id)
        agent = definition.spec.agents.get(definition.step(step_id).agent_name)
        queue = queue_for(agent, self.config.routes, self.config.default_queue)
        key = (str(run_id), str(step_id))
        wake = self._wakers[key] = asyncio.Event()
        try:
            delivered = await self._send(app, redis, run_id, step_id, queue)
            sent_at = time.monotonic()
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.config.reconcile_s):
                        await wake.wait()
                wake.clear()
                record = (await self.store.get_run(run_id)).steps[step_id]
                if record.status.terminal:
                    return outcome_of(record)
                if not claimable(record, time.time()):
                    continue  # a live worker holds it
                if delivered and time.monotonic() - sent_at < self.config.reconcile_s:
                    continue  # just sent: give a worker the time to take it
                if delivered and await self._still_queued(redis, run_id, step_id, queue):
                    continue  # its message waits in the queue (a backlog)
                log.info("step %r of run %s has no message left; sending it again", step_id, run_id)
                self.resent += 1
                delivered = await self._send(app, redis, run_id, step_id, queue)
                sent_at = time.monotonic()
        except asyncio.CancelledError:
            if run_id not in self.execution.detaching:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._cancel(run_id, step_id))
            raise
        finally:
            self._wakers.pop(key, None)

    async def _send(
        self, app: Celery, redis: Redis, run_id: RunId, step_id: StepId, queue: str
    ) -> bool:
        """Mark the step queued and send its message; False when the broker is unreachable
        (the next reconcile tick sends again)."""
        try:
            await redis.set(
                signals.queued_key(run_id, step_id),
                queue,
                ex=max(1, int(self.config.visibility_timeout_s)),
            )
            await asyncio.to_thread(
                app.send_task, TASK, args=[str(run_id), str(step_id)], queue=queue
            )
        except Exception as exc:  # broker down: the store keeps the step claimable
            log.warning("sending step %r of run %s failed (%s); will retry", step_id, run_id, exc)
            return False
        self.sent += 1
        return True

    async def _still_queued(self, redis: Redis, run_id: RunId, step_id: StepId, queue: str) -> bool:
        """Whether the step's message may still wait in its queue: its marker is there
        and the queue is not empty. An empty queue means the message was delivered, so
        a still-claimable step lost it with a killed worker (Redis keeps it unacked
        until the visibility timeout): send again."""
        try:
            if not await redis.exists(signals.queued_key(run_id, step_id)):
                return False
            return bool(await redis.llen(queue))
        except Exception:  # Redis down: nothing can be delivered anyway; re-send when back
            return False

    async def _cancel(self, run_id: RunId, step_id: StepId) -> None:
        """The driver cancelled the step: settle it, so the worker's next lease renewal
        fails and its attempt stops (its late result would be refused anyway)."""
        await self.store.settle_steps(
            run_id,
            [step_id],
            StepStatus.CANCELLED,
            [
                (
                    EventType.STEP_FAILED,
                    step_id,
                    {"status": "cancelled", "reason": "cancelled"},
                )
            ],
        )

    async def aclose(self) -> None:
        """Stop listening and close the Redis connection and the Celery producer pool."""
        if self._listener is not None:
            await self._listener.aclose()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
        if self._app is not None:
            app = self._app
            await asyncio.to_thread(app.close)
        self._app = self._redis = self._listener = None
