"""Gateway benchmarks: overhead per call, local-model throughput, time to first token.

Run: ``uv run python benchmarks/gateway.py [--calls 200] [--tokens 128]
[--only overhead|inprocess|local]``

1. Overhead: the same OpenAI-compatible server on 127.0.0.1 (the test suite's
   fake server), called through the gateway and with the ``openai`` SDK
   directly, each plain and streaming, plus LiteLLM's bare ``Router.acompletion``
   (the path every call took before the gateway called such servers with the SDK);
   median and best latency per call, the calls of all paths interleaved. Once
   with an instant server (pure client overhead) and once with a server that
   takes 50 ms, like a small model would. Targets: gateway ≤ 1.2× direct, the
   gateway's streaming call ≤ 1.2× its plain one.
1b. In-process: ``scripted/instant`` through the gateway, plain and streaming: the
   whole call is gateway overhead. Target ≤ 0.5 ms.
2. Local model tokens/s through the gateway against llama-cpp-python called
   directly with the same prompt and settings. Target: ≥ 0.95×.
3. Time to first token of the local model through the gateway (warm).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.llm.fake_openai import FakeOpenAI

from orchestra.llm.config import GatewayConfig, LocalModelConfig
from orchestra.llm.gateway import build_gateway
from orchestra.llm.local import ensure_model_file, render_prompt
from orchestra.llm.types import ChatMessage, ChatRequest

PROMPT = "Write a long story about a lighthouse keeper and the sea."


@dataclass
class Overhead:
    """Latencies (seconds) of the same call five ways, interleaved."""

    gateway: list[float]
    gateway_stream: list[float]
    direct: list[float]
    direct_stream: list[float]
    router: list[float]

    def line(self, label: str) -> str:
        med = {k: statistics.median(v) for k, v in vars(self).items()}
        best = {k: min(v) for k, v in vars(self).items()}

        def ms(name: str) -> str:
            return f"{med[name] * 1000:.2f} ms (best {best[name] * 1000:.2f})"

        return (
            f"overhead ({label}, {len(self.gateway)} calls each, medians):\n"
            f"  plain:     gateway {ms('gateway')}, openai SDK {ms('direct')}: "
            f"{med['gateway'] / med['direct']:.2f}x (best {best['gateway'] / best['direct']:.2f}x;"
            " target <= 1.2x)\n"
            f"  streaming: gateway {ms('gateway_stream')}, openai SDK {ms('direct_stream')}: "
            f"{med['gateway_stream'] / med['direct_stream']:.2f}x; gateway streaming / plain "
            f"{med['gateway_stream'] / med['gateway']:.2f}x (target <= 1.2x)\n"
            f"  LiteLLM's bare Router.acompletion (the old path) {ms('router')}: "
            f"{med['router'] / med['direct']:.2f}x the SDK"
        )


async def overhead(calls: int, server_delay: float) -> Overhead:
    """Gateway, LiteLLM's bare ``Router.acompletion`` and the openai SDK, one call each in
    turn so all three see the same machine load. Between calls the loop runs LiteLLM's
    background logging tasks, so they are not billed to the next call."""
    from openai import AsyncOpenAI

    server = FakeOpenAI("bench", default="slow" if server_delay else "ok", slow_s=server_delay)
    server.start()
    gateway = build_gateway(
        GatewayConfig(cache="off", model_list=[server.deployment("bench")], num_retries=1)
    )
    client = AsyncOpenAI(base_url=server.api_base, api_key="sk-bench", max_retries=0)
    request = ChatRequest(model="bench", messages=[ChatMessage(role="user", content="hi")])
    messages = [{"role": "user", "content": "hi"}]

    def router_kwargs(request: ChatRequest) -> dict[str, Any]:
        from orchestra.llm.gateway import _router_kwargs

        return _router_kwargs("bench", request, gateway._context.token, stream=False)

    streaming = request.model_copy(update={"stream": True})

    async def on_token(text: str) -> None:
        pass

    async def via_gateway() -> None:
        await gateway.chat(request)

    async def via_gateway_stream() -> None:
        await gateway.chat(streaming, on_token)

    async def via_router() -> None:  # the Router call the gateway made before
        await gateway.router.acompletion(**router_kwargs(request), stream=False)

    async def direct() -> None:
        await client.chat.completions.create(model="fake", messages=messages)  # type: ignore[arg-type]

    async def direct_stream() -> None:
        chunks = await client.chat.completions.create(
            model="fake",
            messages=messages,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                await on_token(chunk.choices[0].delta.content)

    paths = {
        "gateway": via_gateway,
        "gateway_stream": via_gateway_stream,
        "direct": direct,
        "direct_stream": direct_stream,
        "router": via_router,
    }
    for _ in range(10):  # warm up every path (lazy imports, connection pools)
        for call in paths.values():
            await call()
    timings: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(calls):
        for name, call in paths.items():
            await asyncio.sleep(0.002)  # let background tasks of the previous call finish
            start = time.perf_counter()
            await call()
            timings[name].append(time.perf_counter() - start)
    await gateway.close()
    await client.close()
    server.stop()
    return Overhead(**timings)


async def in_process(calls: int) -> str:
    """``scripted/instant`` through the gateway, plain and streaming, interleaved: the model
    answers at once, so the whole call is the gateway's own work."""
    gateway = build_gateway(GatewayConfig(cache="off"))
    plain = ChatRequest(model="scripted/instant", messages=[ChatMessage(role="user", content="hi")])
    streaming = plain.model_copy(update={"stream": True})

    async def on_token(text: str) -> None:
        pass

    for _ in range(50):
        await gateway.chat(plain)
        await gateway.chat(streaming, on_token)
    timings: dict[str, list[float]] = {"plain": [], "stream": []}
    for _ in range(calls):
        for name, request in (("plain", plain), ("stream", streaming)):
            start = time.perf_counter()
            await gateway.chat(request, on_token if request.stream else None)
            timings[name].append(time.perf_counter() - start)
    await gateway.close()
    med = {k: statistics.median(v) * 1000 for k, v in timings.items()}
    return (
        f"in-process scripted/instant through the gateway ({calls} calls each, medians): "
        f"plain {med['plain']:.3f} ms, streaming {med['stream']:.3f} ms "
        f"(target <= 0.5 ms of gateway overhead per call); streaming / plain "
        f"{med['stream'] / med['plain']:.2f}x"
    )


async def local_throughput(tokens: int) -> tuple[float, float, float, float]:
    import llama_cpp

    config = LocalModelConfig()
    gateway = build_gateway(GatewayConfig(cache="off", local=config))
    messages = [ChatMessage(role="user", content=PROMPT)]
    request = ChatRequest(model="local", messages=messages, max_tokens=tokens, temperature=0.0)
    await gateway.chat(request)  # load the model
    runs_gw: list[float] = []
    for _ in range(3):
        response = await gateway.chat(request)
        runs_gw.append(response.usage.completion_tokens / response.usage.latency_s)

    first_token: list[float] = []
    for _ in range(5):
        start = time.perf_counter()
        seen: list[float] = []

        async def on_token(delta: str, seen: list[float] = seen, start: float = start) -> None:
            if not seen:
                seen.append(time.perf_counter() - start)

        await gateway.chat(request.model_copy(update={"max_tokens": 8}), on_token=on_token)
        first_token.append(seen[0])
    await gateway.close()

    llm = llama_cpp.Llama(
        model_path=str(ensure_model_file(config)), n_ctx=config.n_ctx, seed=0, verbose=False
    )
    prompt = render_prompt([m.model_dump(exclude_none=True) for m in messages], None)
    runs_direct: list[float] = []
    for _ in range(3):
        start = time.perf_counter()
        out = llm.create_completion(
            prompt, max_tokens=tokens, temperature=0.0, stop=["<end_of_turn>"]
        )
        elapsed = time.perf_counter() - start
        runs_direct.append(out["usage"]["completion_tokens"] / elapsed)
    completion_tokens = response.usage.completion_tokens
    return (
        statistics.median(runs_gw),
        statistics.median(runs_direct),
        statistics.median(first_token),
        completion_tokens,
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument(
        "--only",
        choices=("overhead", "inprocess", "local"),
        help="run one part of the benchmark",
    )
    args = parser.parse_args()

    if args.only in (None, "inprocess"):
        print(await in_process(args.calls * 5), flush=True)
    for delay in (0.0, 0.05) if args.only in (None, "overhead") else ():
        label = "instant server" if not delay else f"server taking {delay * 1000:.0f} ms"
        print((await overhead(args.calls, delay)).line(label), flush=True)
    if args.only in ("overhead", "inprocess"):
        return
    gw_tps, direct_tps, ttft, n = await local_throughput(args.tokens)
    print(
        f"local model ({n:.0f} tokens/answer): gateway {gw_tps:.1f} tok/s, llama-cpp-python "
        f"{direct_tps:.1f} tok/s, ratio {gw_tps / direct_tps:.2f}x (target >= 0.95x)"
    )
    print(f"local model time to first token (warm, median of 5): {ttft * 1000:.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
