"""A consumer process for the kill -9 test: fetches one message from ``tasks.new`` and
turns it into a task, optionally hanging (before or after creating the task, never
acknowledging) so the test can kill it mid-delivery.

Usage: python -m tests.messaging.consumer_process BUS_URL TASKS_DB_URL MODE
MODE: hang-before | hang-after | normal. Prints one status line per step.
"""

from __future__ import annotations

import asyncio
import sys

from orchestra.messaging import DeliveryPolicy, MessageBus
from orchestra.messaging.redis_streams import RedisStreamsBackend
from orchestra.runtime.messaging import MessageTasks
from orchestra.store.database import connect
from orchestra.store.messages import SqlMessageBackend
from orchestra.store.team import TaskRepository

POLICY = DeliveryPolicy(visibility_s=1.0, max_deliveries=5, poll_s=0.02)


async def main(bus_url: str, tasks_url: str, mode: str, prefix: str) -> None:
    tasks_db = await connect(tasks_url)
    if bus_url.startswith("redis"):
        bus = MessageBus(RedisStreamsBackend(bus_url, POLICY, prefix=prefix), consumer=mode)
    else:
        bus = MessageBus(SqlMessageBackend(tasks_db, POLICY), consumer=mode)
    await bus.start()
    bridge = MessageTasks(bus, TaskRepository(tasks_db), "tasks.new")
    await bridge.prepare()
    print("ready", flush=True)
    (delivery,) = await bus.fetch([bridge.subscription], limit=1, wait_s=120)
    print(f"received {delivery.message.id} attempt={delivery.attempt}", flush=True)
    if mode == "hang-before":
        await asyncio.Event().wait()
    result = await bridge.handle(delivery)
    assert result is not None
    row, created = result
    print(f"handled task={row.id} created={created}", flush=True)
    if mode == "hang-after":
        await asyncio.Event().wait()
    await bus.ack(delivery)
    print("acked", flush=True)
    await bus.aclose()
    await tasks_db.aclose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
