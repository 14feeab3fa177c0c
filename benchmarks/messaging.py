"""Message-bus benchmark: throughput and publish-to-deliver latency; prints figures only.

    uv run python benchmarks/messaging.py                       # both backends
    uv run python benchmarks/messaging.py redis --messages 100000
    uv run python benchmarks/messaging.py database --messages 20000

1,000 subscriptions with wildcards: subscription i listens on ``bench.g<i>.*`` (even
i) or ``bench.g<i>.#`` (odd i); each message goes to ``bench.g<k>.evt`` for a random
k, so every message matches exactly one subscription through a wildcard, routed by
the pattern index over all 1,000. One consumer serves every subscription (fetch in
batches of 500, ack each batch); publishers keep 64 publishes in flight.

Two figures per backend:

* **throughput**: N messages published as fast as possible; messages/s from the
  first publish to the last acknowledgement (end to end, not just publishing);
* **latency**: N messages offered at a fixed rate (``--rate``, default 5,000/s);
  p50/p99/max of (delivered_at - published_at).

Redis runs on a throwaway ``redis-server`` on a free port (no persistence); the
database backend on a SQLite file (WAL, synchronous=NORMAL) in a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from orchestra.messaging import DeliveryPolicy, MessageBackend, MessageBus
from orchestra.messaging.redis_streams import RedisStreamsBackend
from orchestra.store.database import connect
from orchestra.store.messages import SqlMessageBackend

POLICY = DeliveryPolicy(visibility_s=60.0, max_deliveries=5)


def _redis() -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed (scripts/services.sh)"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)


async def _run(bus: MessageBus, messages: int, rate: float | None) -> tuple[float, list[float]]:
    latencies: list[float] = []
    done = asyncio.Event()

    async def consume() -> None:
        while len(latencies) < messages:
            got = await bus.fetch(None, limit=500, wait_s=1.0)
            for delivery in got:
                latencies.append(delivery.delivered_at - delivery.message.published_at)
            await bus.ack(got)
        done.set()

    async def publish(count: int, start: float) -> None:
        for i in range(count):
            if rate is not None:
                due = start + i * in_flight / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            k = random.randrange(1000)
            await bus.publish({"topic": f"bench.g{k}.evt", "body": {"k": k, "i": i}})

    in_flight = 64
    consumer = asyncio.create_task(consume())
    began = time.perf_counter()
    share = [
        messages // in_flight + (1 if i < messages % in_flight else 0) for i in range(in_flight)
    ]
    await asyncio.gather(*(publish(n, began + j / (rate or 1e12)) for j, n in enumerate(share)))
    await done.wait()
    elapsed = time.perf_counter() - began
    await consumer
    return messages / elapsed, latencies


def _ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _bench(name: str, backend: MessageBackend, messages: int, rate: float) -> None:
    bus = MessageBus(backend)
    await bus.start()
    try:
        for i in range(1000):
            pattern = f"bench.g{i}.*" if i % 2 == 0 else f"bench.g{i}.#"
            await bus.subscribe(f"sub{i}", agent="bench", patterns=[pattern])
        throughput, _ = await _run(bus, messages, None)
        _, latencies = await _run(bus, messages, rate)
        print(
            f"{name:9s} {messages:>7,} msgs, 1,000 wildcard subscribers: "
            f"throughput {throughput:>8,.0f} msg/s end to end; at {rate:,.0f} msg/s offered: "
            f"p50 {_ms(latencies, 0.5):.1f} ms, p99 {_ms(latencies, 0.99):.1f} ms, "
            f"max {1000 * max(latencies):.1f} ms",
            flush=True,
        )
        print(f"          {statistics.fmean(latencies) * 1000:.1f} ms mean latency", flush=True)
    finally:
        await bus.aclose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("backend", nargs="?", choices=["redis", "database", "all"], default="all")
    parser.add_argument("--messages", type=int, default=None)
    parser.add_argument("--rate", type=float, default=5000.0)
    args = parser.parse_args()
    if args.backend in ("redis", "all"):
        process, url = _redis()
        try:
            await _bench(
                "redis", RedisStreamsBackend(url, POLICY), args.messages or 100_000, args.rate
            )
        finally:
            process.terminate()
            process.wait()
    if args.backend in ("database", "all"):
        with tempfile.TemporaryDirectory() as folder:
            database = await connect(f"sqlite:///{Path(folder) / 'bench.db'}")
            try:
                await _bench(
                    "database",
                    SqlMessageBackend(database, POLICY),
                    args.messages or 20_000,
                    min(args.rate, 1000.0),
                )
            finally:
                await database.aclose()


if __name__ == "__main__":
    asyncio.run(main())
