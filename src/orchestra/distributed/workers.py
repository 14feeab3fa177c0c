"""Who is working: each worker's heartbeat from Redis, joined with Celery's ``inspect``.

The heartbeat (written by the worker's consumer every 2 s, expiring after 10 s) says
its queues, concurrency and current steps; ``inspect().ping()`` says whether Celery's
own consumer in that process answers (a worker stuck in a long GC or paused answers no).
"""

from __future__ import annotations

import asyncio
from typing import Any

from orchestra.distributed import signals
from orchestra.distributed.celery_app import make_app
from orchestra.distributed.config import DistributedConfig


def _ping(broker_url: str, timeout_s: float) -> dict[str, Any]:
    app = make_app(DistributedConfig(broker_url=broker_url))
    try:
        answer = app.control.inspect(timeout=timeout_s).ping()
        return dict(answer or {})
    finally:
        app.close()


async def list_workers(broker_url: str, *, inspect_timeout_s: float = 1.0) -> list[dict[str, Any]]:
    """Every worker with a live heartbeat; ``celery`` is true when it answered a ping."""
    client = signals.connect(broker_url)
    try:
        found = await signals.read_workers(client)
    finally:
        await client.aclose()
    answered = await asyncio.to_thread(_ping, broker_url, inspect_timeout_s)
    for info in found:
        info["celery"] = str(info.get("name")) in answered
    return found
