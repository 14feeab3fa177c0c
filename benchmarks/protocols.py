"""A2A round-trip overhead against a direct call: print figures, assert nothing.

    uv run python benchmarks/protocols.py [N]

One in-process server (``create_app`` on uvicorn, 127.0.0.1, SQLite file) with an agent
exposed over A2A whose model is ``scripted/echo`` (answers at once), so the figures are
Orchestra's and the protocol's overhead, not a model's. Three ways to get one answer:

* **direct**: ``RunService.start_run`` + ``wait`` on the agent's one-step workflow;
* **A2A send**: the a2a-sdk client's non-streaming ``SendMessage`` (JSON-RPC over HTTP,
  API-key auth, card fetched once);
* **A2A stream**: the same, streaming (SSE).

Each path runs N times (default 30) after 3 warm-ups; median and p95 in milliseconds.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from a2a.client import ClientConfig, ClientFactory
from a2a.helpers.proto_helpers import new_text_message
from a2a.types.a2a_pb2 import Role, SendMessageRequest

from orchestra.api.app import create_app
from orchestra.config import load_settings
from orchestra.protocols.runs import agent_workflow
from orchestra.runtime.container import Container, ContainerOptions

TOML = '[models]\ndefault = "scripted/echo"\ncache = "off"\n'
AGENT = "---\nname: echo\nmodel: scripted/echo\nexpose: [a2a]\n---\nYou echo.\n"


def _project(root: Path) -> Path:
    (root / "agents").mkdir(parents=True)
    (root / "workflows").mkdir()
    (root / "orchestra.toml").write_text(TOML)
    (root / "agents" / "echo.agent.md").write_text(AGENT)
    return root


async def _time(label: str, n: int, call: Callable[[], Awaitable[None]]) -> float:
    for _ in range(3):
        await call()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    median = statistics.median(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    print(f"{label:<12} median {median:7.1f} ms   p95 {p95:7.1f} ms   (n={n})")
    return median


async def main(n: int) -> None:
    import uvicorn

    with tempfile.TemporaryDirectory() as tmp:
        root = _project(Path(tmp))
        settings = load_settings(root, env={})
        container = await Container.open(settings, ContainerOptions(refresh_s=None, resume=False))
        key = await container.keys.ensure_first_admin()
        app = create_app(settings, container=container)
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="on")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                await serving
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        spec = agent_workflow(container.project.agents["echo"])

        async def direct() -> None:
            run_id = await container.runs.start_run(spec, {"Message": "hello"})
            await container.runs.wait(run_id)

        headers = {"Authorization": f"Bearer {key}"}
        url = f"http://127.0.0.1:{port}/a2a/agents/echo"
        try:
            async with httpx.AsyncClient(headers=headers, timeout=60) as http:
                plain = await ClientFactory(
                    ClientConfig(streaming=False, httpx_client=http)
                ).create_from_url(url)
                streaming = await ClientFactory(
                    ClientConfig(streaming=True, httpx_client=http)
                ).create_from_url(url)

                def via(client: object) -> Callable[[], Awaitable[None]]:
                    async def call() -> None:
                        message = new_text_message("hello", role=Role.ROLE_USER)
                        async for _ in client.send_message(  # type: ignore[attr-defined]
                            SendMessageRequest(message=message)
                        ):
                            pass

                    return call

                base = await _time("direct", n, direct)
                sent = await _time("A2A send", n, via(plain))
                streamed = await _time("A2A stream", n, via(streaming))
                print(
                    f"A2A overhead over a direct call: send +{sent - base:.1f} ms, "
                    f"stream +{streamed - base:.1f} ms (median)"
                )
        finally:
            server.should_exit = True
            await serving
            await container.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 30))
