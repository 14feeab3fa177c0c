"""Several sequences at once on the embedded model: tokens/s per sequence and in total.

The runtime serves parallel calls from a pool of llama.cpp contexts
(``orchestra.llm.local_pool``, ``[models.local] parallel``). The default run measures that
pool, as the runtime builds it (its contexts, threads per context), for pool sizes 1 and
2 side by side: two sequences started together on the same prompt, greedy, a fixed
number of tokens each. Per sequence it prints the rate of its own decoding and the rate
its caller sees (tokens over the time from the start of both, so a sequence that waited
for the only context counts its wait), the total, and the memory each context adds.

``--batched`` also runs what the last session measured against it: llama.cpp's own
batching (N sequences of one context advanced by one ``llama_decode``, through the
low-level API, greedy), for N = 1, 2, 4 (llama-cpp-python's ``create_completion``
decodes one sequence per context, so the runtime would need its own decoding loop).

Rounds are interleaved, so a shared machine's load hits every variant alike; medians.
Usage::

    uv run python benchmarks/local_parallel.py [--tokens 64] [--rounds 3] [--batched]
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import statistics
import time
from typing import Any

PROMPT = (
    "Each request below is answered briefly.\n\nRequest: Describe a lighthouse keeper's "
    "day by the sea.\nAnswer:"
)


def load(threads: int, n_seq: int = 1) -> Any:
    import llama_cpp

    from orchestra.llm.config import LocalModelConfig
    from orchestra.llm.local import _quiet_native_logs, ensure_model_file

    _quiet_native_logs(llama_cpp)
    return llama_cpp.Llama(
        model_path=str(ensure_model_file(LocalModelConfig())),
        n_ctx=512 * n_seq,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )


def completion(llm: Any, tokens: int) -> float:
    """Tokens/s of one ``create_completion`` (the local runtime's path)."""
    start = time.perf_counter()
    out = llm.create_completion(PROMPT, max_tokens=tokens, temperature=0.0, stop=[])
    elapsed = time.perf_counter() - start
    return float(out["usage"]["completion_tokens"]) / elapsed


def batched(llm: Any, n_seq: int, tokens: int, threads: int) -> tuple[float, float]:
    """(tokens/s per sequence, tokens/s in total) for ``n_seq`` sequences in one context."""
    import llama_cpp

    params = llama_cpp.llama_context_default_params()
    params.n_ctx = 512 * n_seq
    params.n_batch = 512 * n_seq
    params.n_seq_max = n_seq
    params.n_threads = threads
    params.n_threads_batch = threads
    ctx = llama_cpp.llama_init_from_model(llm._model.model, params)
    prompt = llm.tokenize(PROMPT.encode(), special=True)
    batch = llama_cpp.llama_batch_init(len(prompt) * n_seq, 0, n_seq)
    vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
    n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
    try:

        def put(i: int, token: int, pos: int, seq: int, logits: bool) -> None:
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = logits

        start = time.perf_counter()
        batch.n_tokens = 0
        for seq in range(n_seq):  # every prompt in one decode
            for pos, token in enumerate(prompt):
                put(batch.n_tokens, token, pos, seq, pos == len(prompt) - 1)
                batch.n_tokens += 1
        assert llama_cpp.llama_decode(ctx, batch) == 0
        rows = [len(prompt) * (seq + 1) - 1 for seq in range(n_seq)]
        for step in range(tokens):
            batch.n_tokens = 0
            for seq, row in enumerate(rows):
                logits = llama_cpp.llama_get_logits_ith(ctx, row)
                best = _argmax(logits, n_vocab)
                put(seq, best, len(prompt) + step, seq, True)
            batch.n_tokens = n_seq
            assert llama_cpp.llama_decode(ctx, batch) == 0
            rows = list(range(n_seq))
        elapsed = time.perf_counter() - start
    finally:
        llama_cpp.llama_batch_free(batch)
        llama_cpp.llama_free(ctx)
    return tokens / elapsed, tokens * n_seq / elapsed


def _argmax(logits: Any, n_vocab: int) -> int:
    import numpy as np

    view = np.ctypeslib.as_array(ctypes.cast(logits, ctypes.POINTER(ctypes.c_float)), (n_vocab,))
    return int(view.argmax())


def rss_mib() -> tuple[float, float]:
    """(resident, private anonymous) MiB of this process, from /proc (Linux)."""
    fields: dict[str, float] = {}
    with open("/proc/self/smaps_rollup", encoding="ascii") as rollup:
        for line in rollup:
            name, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                fields[name] = float(rest.split()[0]) / 1024
    return fields.get("Rss", 0.0), fields.get("Anonymous", 0.0)


def pool_of(size: int) -> tuple[Any, int, list[tuple[float, float]]]:
    """The runtime's pool for ``parallel = size``, every context loaded; its threads per
    context, and (RSS, anonymous) MiB after each load, starting before the first."""
    from orchestra.llm.config import LocalModelConfig
    from orchestra.llm.local import LocalRuntime

    config = LocalModelConfig(n_ctx=2048, parallel=size)
    pool = LocalRuntime().pool(config)
    memory = [rss_mib()]
    contexts = []
    for _ in range(size):  # load each context as a parallel call would
        contexts.append(pool._load())
        memory.append(rss_mib())
    for context in contexts:
        pool._contexts.append(context)
        pool._release(context)
        completion(context.llm, 4)  # warm up
    return pool, config.threads(), memory


async def two_sequences(pool: Any, tokens: int) -> tuple[list[float], list[float], float]:
    """Two sequences started together on ``pool``: each one's own decoding rate, the rate
    its caller saw (from the common start), and the total rate."""
    import asyncio

    start = time.perf_counter()

    async def queued() -> None:
        """A lease's ``on_wait``: nothing to tell here."""

    async def one() -> tuple[float, float, float]:
        async with pool.lease(queued) as context:
            began = time.perf_counter()
            rate = await asyncio.to_thread(completion, context.llm, tokens)
            ended = time.perf_counter()
        made = rate * (ended - began)
        return rate, made / (ended - start), made

    results = await asyncio.gather(one(), one())
    elapsed = time.perf_counter() - start
    return [r[0] for r in results], [r[1] for r in results], sum(r[2] for r in results) / elapsed


def main() -> None:
    import asyncio

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="threads of --batched")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians")
    parser.add_argument("--batched", action="store_true", help="also llama.cpp batching")
    args = parser.parse_args()
    pools = {size: pool_of(size) for size in (1, 2)}
    llm = load(args.threads) if args.batched else None
    runs: dict[int, list[tuple[list[float], list[float], float]]] = {1: [], 2: []}
    batched_runs: dict[int, list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for size, (pool, _threads, _memory) in pools.items():
            runs[size].append(asyncio.run(two_sequences(pool, args.tokens)))
        if llm is not None:
            for n_seq in (1, 2, 4):
                batched_runs.setdefault(n_seq, []).append(
                    batched(llm, n_seq, args.tokens, args.threads)
                )
    print(f"two sequences of {args.tokens} tokens started together, medians of {args.rounds}")
    print(
        f"{'pool':>4} {'threads/ctx':>11} {'own decoding':>21} {'as the caller sees it':>23}"
        f" {'total':>12}"
    )
    for size, (_pool, threads, _memory) in pools.items():
        own = sorted(statistics.median(r[0][i] for r in runs[size]) for i in (0, 1))
        seen = sorted(statistics.median(r[1][i] for r in runs[size]) for i in (0, 1))
        total = statistics.median(r[2] for r in runs[size])
        print(
            f"{size:>4} {threads:>11} {own[0]:6.1f} / {own[1]:5.1f} tok/s"
            f" {seen[0]:8.1f} / {seen[1]:5.1f} tok/s {total:6.1f} tok/s"
        )
    print("memory each context added (RSS / private anonymous), n_ctx 2048:")
    for size, (_pool, _threads, memory) in pools.items():
        added = [
            f"{after[0] - before[0]:.0f} / {after[1] - before[1]:.0f} MiB"
            for before, after in itertools.pairwise(memory)
        ]
        print(f"  pool {size}: " + ", ".join(added))
    for n_seq, results in batched_runs.items():
        per = statistics.median(r[0] for r in results)
        total = statistics.median(r[1] for r in results)
        label = f"batched, {n_seq} sequence{'s' if n_seq > 1 else ''}, {args.threads} threads"
        print(f"{label:32} {per:6.1f} tok/s each, {total:6.1f} tok/s total")


if __name__ == "__main__":
    main()
