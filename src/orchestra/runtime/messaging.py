"""The message bus of a process, and tasks created from messages.

:func:`open_bus` picks the backend ``[messaging]`` names (Redis Streams when a
``redis_url`` is set and ``backend`` is ``auto``, else the project database) and
pushes its close onto the profile's exit stack. :class:`MessageTasks` turns each
message on ``[messaging] task_topic`` into a task: the task's idempotency key is
``message:<dedupe_key or id>``, so a message redelivered after its consumer died
(kill -9 between creating the task and acknowledging) never makes a second task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pydantic import ValidationError

from orchestra.config.settings import Settings
from orchestra.definitions.specs import WaitFor
from orchestra.engine.ids import RunId
from orchestra.engine.protocols import StepContext
from orchestra.messaging import BodyLimits, Delivery, DeliveryPolicy, MessageBus, Permissions
from orchestra.messaging.backend import MessageBackend
from orchestra.messaging.errors import MessagingError
from orchestra.store.database import Database
from orchestra.store.messages import SqlMessageBackend
from orchestra.store.team.tasks import TaskRow
from orchestra.tasks.specs import TaskDraft

log = logging.getLogger(__name__)

WAIT_SLICE_S = 30.0
"""Longest single fetch of a waiting step (the backend's wait is bounded this way)."""


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    section = settings.messaging
    return DeliveryPolicy(
        visibility_s=section.visibility_s,
        max_deliveries=section.max_deliveries,
        backoff_base_s=section.backoff_base_s,
        backoff_max_s=section.backoff_max_s,
        poll_s=section.poll_s,
        retention_s=section.retention_s,
    )


def build_backend(settings: Settings, database: Database) -> MessageBackend:
    section = settings.messaging
    use_redis = section.backend == "redis" or (
        section.backend == "auto" and section.redis_url is not None
    )
    if use_redis:
        if section.redis_url is None:
            raise MessagingError(
                "[messaging] backend = 'redis' needs redis_url, e.g. "
                "redis_url = 'redis://127.0.0.1:6379/0' (or ORCHESTRA_MESSAGING__REDIS_URL)"
            )
        from orchestra.messaging.redis_streams import RedisStreamsBackend

        return RedisStreamsBackend(
            section.redis_url, delivery_policy(settings), prefix=section.prefix
        )
    return SqlMessageBackend(database, delivery_policy(settings))


def build_bus(settings: Settings, database: Database) -> MessageBus:
    section = settings.messaging
    permissions = Permissions.of(
        {name: (g.publish, g.subscribe) for name, g in section.permissions.items()},
        section.default_publish,
        section.default_subscribe,
    )
    return MessageBus(
        build_backend(settings, database),
        permissions=permissions,
        limits=BodyLimits(section.max_body_bytes, section.compress_above_bytes),
        consumer=f"{socket.gethostname()}-{os.getpid()}",
    )


async def open_bus(
    settings: Settings, database: Database, exits: contextlib.AsyncExitStack
) -> MessageBus:
    bus = build_bus(settings, database)
    await bus.start()
    exits.push_async_callback(bus.aclose)
    return bus


class BusWaiter:
    """The bus side of ``Wait for:`` steps (:mod:`orchestra.agents.wait_step`).

    Each (run, step) gets the durable subscription ``wait.<run>.<step>``, created on the
    step's first attempt with the messages retained since the run was created, so the
    message may come before the step starts (a parallel branch finished first) and a
    retried or resumed step still gets it. The first delivery is acknowledged and the
    subscription deleted. Any matching message counts, also one another run published
    on the same topic.
    """

    def __init__(self, bus: MessageBus, run_created: Callable[[RunId], Awaitable[float]]) -> None:
        self.bus = bus
        self.run_created = run_created

    @staticmethod
    def name(ctx: StepContext) -> str:
        return f"wait.{ctx.run_id}.{ctx.step_id}"

    async def prepare(self, ctx: StepContext, wait: WaitFor) -> None:
        name = self.name(ctx)
        if name in {s.name for s in await self.bus.subscriptions()}:
            return
        await self.bus.subscribe(
            name,
            agent=ctx.agent.name,
            patterns=[wait.topic],
            replay_since=await self.run_created(ctx.run_id),
        )

    async def wait(
        self, ctx: StepContext, wait: WaitFor, timeout_s: float
    ) -> tuple[str, Any] | None:
        name = self.name(ctx)
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            got = await self.bus.fetch([name], limit=1, wait_s=min(left, WAIT_SLICE_S))
            if got:
                await self.bus.ack(got)
                await self.bus.unsubscribe(name)
                return got[0].message.id, got[0].message.body
        return None


class TaskCreator(Protocol):
    async def create(self, draft: TaskDraft, *, by: str) -> tuple[TaskRow, bool]: ...


class MessageTasks:
    """Consumes ``topic`` (subscription ``tasks.from.<topic>``) and creates one task per
    message; a body that is not a task is dead-lettered with the reason."""

    def __init__(self, bus: MessageBus, tasks: TaskCreator, topic: str) -> None:
        self.bus = bus
        self.tasks = tasks
        self.topic = topic
        self.subscription = f"tasks.from.{topic}"
        self._loop: asyncio.Task[None] | None = None

    async def prepare(self) -> None:
        await self.bus.subscribe(self.subscription, agent="operator", patterns=[self.topic])

    async def handle(self, delivery: Delivery) -> tuple[TaskRow, bool] | None:
        """Create the task of ``delivery`` (idempotently); None if its body is no task."""
        message = delivery.message
        body = message.body if isinstance(message.body, dict) else {"title": str(message.body)}
        key = f"message:{message.dedupe_key or message.id}"
        try:
            draft = TaskDraft.model_validate({**body, "idempotency_key": key})
        except ValidationError as exc:
            await self.bus.nack(delivery, reason=f"not a task: {exc.errors()[0]['msg']}", dead=True)
            return None
        return await self.tasks.create(draft, by=f"message:{message.sender}")

    async def run_once(self, wait_s: float = 0.0) -> int:
        handled = 0
        for delivery in await self.bus.fetch([self.subscription], limit=20, wait_s=wait_s):
            if await self.handle(delivery) is not None:
                await self.bus.ack(delivery)
            handled += 1
        return handled

    async def start(self) -> None:
        await self.prepare()
        self._loop = asyncio.create_task(self._serve(), name="orchestra-message-tasks")

    async def _serve(self) -> None:
        while True:
            try:
                await self.run_once(wait_s=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # the bus or store hiccuped: the messages stay unacked
                log.exception("creating tasks from messages failed; retrying")
                await asyncio.sleep(1.0)

    async def close(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
