"""Can the embedded model serve several sequences at once? Tokens/s per sequence and in total.

llama-cpp-python's ``Llama.create_completion`` decodes one sequence per context (its
multi-sequence path is only for embeddings), which is why the local runtime serves one
call at a time. llama.cpp itself batches: one ``llama_decode`` can advance several
sequences of one context (``n_seq_max``), each with its own KV cells. This script
measures, on the packaged Gemma 3 270M and the same prompt:

* ``create_completion``: one sequence, llama-cpp-python's own loop (what a call gets);
* ``batched N``: N sequences advanced together by the low-level API, greedy sampling,
  for N = 1, 2, 4: tokens/s of each sequence and of all together;
* ``two contexts``: two ``Llama`` objects (the weights are mmapped, so shared) decoding
  in two threads at once, which is what a pool of contexts would do.

Greedy decoding, a fixed number of tokens per sequence (end of text ignored), so every
variant does the same work. Usage::

    uv run python benchmarks/local_parallel.py [--tokens 64] [--threads 2]
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import threading
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


def two_contexts(tokens: int, threads: int) -> tuple[float, float]:
    """Two ``Llama`` objects decoding at once in two threads (a pool of contexts)."""
    models = [load(max(1, threads // 2)) for _ in range(2)]
    for llm in models:
        completion(llm, 4)  # warm up
    rates: list[float] = []
    start = time.perf_counter()
    workers = [
        threading.Thread(target=lambda m=m: rates.append(completion(m, tokens))) for m in models
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    return sum(rates) / len(rates), 2 * tokens / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians")
    args = parser.parse_args()
    llm = load(args.threads)
    completion(llm, 4)  # warm up
    results: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.rounds):  # interleaved: a shared machine's load hits every variant
        rate = completion(llm, args.tokens)
        results.setdefault("create_completion, 1 sequence", []).append((rate, rate))
        for n_seq in (1, 2, 4):
            key = f"batched, {n_seq} sequence{'s' if n_seq > 1 else ''}"
            results.setdefault(key, []).append(batched(llm, n_seq, args.tokens, args.threads))
        results.setdefault("two contexts in two threads", []).append(
            two_contexts(args.tokens, args.threads)
        )
    for key, runs in results.items():
        per = statistics.median(r[0] for r in runs)
        total = statistics.median(r[1] for r in runs)
        print(f"{key:32} {per:6.1f} tok/s each, {total:6.1f} tok/s total")


if __name__ == "__main__":
    main()
