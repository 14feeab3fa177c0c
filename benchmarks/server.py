"""Benchmarks of ``orchestra serve`` on 127.0.0.1 (prints figures, asserts nothing).

1. Start-run latency: this process (the load generator) POSTs /api/v1/runs from
   ``--clients`` concurrent connections against a separate ``orchestra serve``
   process, while the started runs execute there; p50/p99 per request.
2. WebSocket fan-out: ``--subscribers`` WebSockets follow one busy run (a chain
   of scripted steps held at an approval gate until everyone is subscribed);
   delay from an event's commit timestamp to its receipt, p50/p99 over every
   (event, subscriber) pair.

Run: ``uv run python benchmarks/server.py`` (``--help`` for the knobs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect

ORCHESTRA = Path(sys.executable).parent / "orchestra"

AGENT = """---
name: echo
model: scripted/echo
---
You echo.
"""


def chain(steps: int) -> str:
    parts = [
        "---\nname: chain\n---\n## Step: gate\n* **Agent:** [E](../agents/echo.agent.md)\n"
        "* **Output:** ${G}\n* **Approval:** required\n\nGo.\n\n"
    ]
    previous = "G"
    for index in range(steps):
        parts.append(
            f"## Step: s{index}\n* **Agent:** [E](../agents/echo.agent.md)\n* **Input:** ${{{previous}}}\n"
            f"* **Output:** ${{O{index}}}\n\nStep {index} after ${{{previous}}}.\n\n"
        )
        previous = f"O{index}"
    return "".join(parts)


QUICK = """---
name: quick
---
## Step: only
* **Agent:** [E](../agents/echo.agent.md)
* **Output:** ${Out}

Say hi.
"""


def make_project(root: Path, steps: int) -> None:
    (root / "agents").mkdir(parents=True)
    (root / "workflows").mkdir()
    (root / "orchestra.toml").write_text(
        '[models]\ndefault = "scripted/echo"\ncache = "off"\n[server]\nrate_limit = "1000000/minute"\n'
    )
    (root / "agents" / "echo.agent.md").write_text(AGENT)
    (root / "workflows" / "quick.workflow.md").write_text(QUICK)
    (root / "workflows" / "chain.workflow.md").write_text(chain(steps))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def start_latency(base: str, key: str, total: int, clients: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(total):
        queue.put_nowait(index)

    async def worker(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            queue.get_nowait()
            started = time.perf_counter()
            answer = await http.post(
                f"{base}/api/v1/runs", json={"workflow": "quick"}, headers=headers
            )
            latencies.append(time.perf_counter() - started)
            answer.raise_for_status()

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        for _ in range(20):  # warm-up
            (
                await http.post(f"{base}/api/v1/runs", json={"workflow": "quick"}, headers=headers)
            ).raise_for_status()
        began = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(clients)))
        elapsed = time.perf_counter() - began
    print(
        f"start-run latency, {total} runs from {clients} concurrent clients: "
        f"p50 {pct(latencies, 0.5) * 1000:.1f} ms, p99 {pct(latencies, 0.99) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms, throughput {total / elapsed:.0f} runs/s"
    )


async def fan_out(base: str, key: str, subscribers: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=60) as http:
        run = (
            await http.post(f"{base}/api/v1/runs", json={"workflow": "chain"}, headers=headers)
        ).json()
        run_id = run["id"]
        status = ""
        while status != "waiting":  # polling over HTTP: there is no event to wait on here
            answer = await http.get(f"{base}/api/v1/runs/{run_id}", headers=headers)
            status = answer.json()["status"]
            await asyncio.sleep(0.05)
        ws_url = base.replace("http", "ws") + "/api/v1/ws"
        sockets: list[ClientConnection] = []
        for _ in range(subscribers):
            ws = await connect(
                ws_url, subprotocols=["orchestra.v1", f"bearer.{key}"], max_queue=None
            )  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "subscribe", "run_id": run_id, "after": 0}))
            sockets.append(ws)
        delays: list[float] = []
        approved_at = 0.0

        async def follow(ws: ClientConnection) -> int:
            count = 0
            async for raw in ws:
                received = time.time()
                message = json.loads(raw)
                if message["type"] == "ping":
                    await ws.send('{"type":"pong"}')
                if message["type"] != "event":
                    continue
                event = message["event"]
                if approved_at and event["timestamp"] >= approved_at:
                    delays.append(received - event["timestamp"])
                    count += 1
                if event["type"] == "run_finished":
                    return count
            return count

        followers = [asyncio.create_task(follow(ws)) for ws in sockets]
        await asyncio.sleep(1.0)  # every subscriber has its replay
        approved_at = time.time()
        (
            await http.post(
                f"{base}/api/v1/runs/{run_id}/steps/gate/approve", json={}, headers=headers
            )
        ).raise_for_status()
        counts = await asyncio.gather(*followers)
        for ws in sockets:
            await ws.close()
    print(
        f"WebSocket fan-out, {subscribers} subscribers on one run ({min(counts)} live events each): "
        f"commit-to-receipt p50 {pct(delays, 0.5) * 1000:.1f} ms, p99 {pct(delays, 0.99) * 1000:.1f} ms, "
        f"max {max(delays) * 1000:.1f} ms over {len(delays)} deliveries"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder) / "project"
        make_project(project, args.steps)
        port = free_port()
        out = (Path(folder) / "serve.out").open("w")
        server = subprocess.Popen(
            [
                str(ORCHESTRA),
                "serve",
                "--project",
                str(project),
                "--port",
                str(port),
                "--log-level",
                "WARNING",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1"},
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit((Path(folder) / "serve.out").read_text())
                time.sleep(0.1)
            text = (Path(folder) / "serve.out").read_text()
            key = next(
                line.strip() for line in text.splitlines() if line.strip().startswith("orch_")
            )
            print(f"orchestra serve on {base} (SQLite, scripted model), {os.cpu_count()} CPUs")
            asyncio.run(start_latency(base, key, args.runs, args.clients))
            asyncio.run(fan_out(base, key, args.subscribers))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
            out.close()


if __name__ == "__main__":
    main()
