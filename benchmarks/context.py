"""Context search latency over many entries, and plan validation time.

    uv run python benchmarks/context.py [--entries 100000] [--queries 500]

Fills a fresh SQLite store (a temporary file) with synthetic prospecting entries,
then times ranked full-text searches (FTS5 bm25, top 5, like enrichment) and
prints p50/p99; then times parsing + checking + compiling a 10-step plan. Target:
FTS p99 <= 20 ms at 100k entries on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from orchestra.context import ContextDraft, ContextFilter, Provenance
from orchestra.definitions.specs import AgentSpec
from orchestra.planner import catalogue_of, compile_plan
from orchestra.planner.validate import check_plan, parse_plan
from orchestra.store.context import ContextRepository
from orchestra.store.database import connect

CITIES = ["Berlin", "Munich", "Hamburg", "Lisbon", "Paris", "Madrid", "Vienna", "Zurich"]
TITLES = ["CTO", "CEO", "VP Engineering", "Head of Data", "Founder", "CFO"]
WORDS = [
    "fintech",
    "health",
    "retail",
    "logistics",
    "energy",
    "climate",
    "security",
    "mobility",
    "media",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def search_bench(entries: int, queries: int) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        database = await connect(f"sqlite:///{Path(tmp) / 'bench.db'}")
        repo = ContextRepository(database)
        started = time.perf_counter()
        batch: list[ContextDraft] = []
        for n in range(entries):
            batch.append(
                ContextDraft(
                    job_id=f"job-{n % 5000}",
                    job_type=rng.choice(["prospecting", "feedback", "page_state"]),
                    context_data={
                        "title": rng.choice(TITLES),
                        "city": rng.choice(CITIES),
                        "sector": rng.choice(WORDS),
                        "note": " ".join(rng.choices(WORDS, k=6)),
                    },
                )
            )
            if len(batch) == 5000:
                await repo.add_many(batch, Provenance())
                batch = []
        if batch:
            await repo.add_many(batch, Provenance())
        print(f"filled {entries} entries in {time.perf_counter() - started:.1f} s")
        for label, where in (
            ("any type", ContextFilter()),
            ("job_type=prospecting", ContextFilter(job_type="prospecting")),
        ):
            times: list[float] = []
            for _ in range(queries):
                query = f"{rng.choice(TITLES)} {rng.choice(CITIES)} {rng.choice(WORDS)}"
                t0 = time.perf_counter()
                await repo.search(query, where, limit=5)
                times.append((time.perf_counter() - t0) * 1000)
            print(
                f"FTS search ({label}, top 5, {queries} queries): "
                f"p50 {statistics.median(times):.2f} ms  p99 {percentile(times, 0.99):.2f} ms"
            )
        await database.aclose()


def plan_bench(rounds: int) -> None:
    agents = {
        f"a{i}": AgentSpec(name=f"a{i}", system_prompt="x", path=Path(f"a{i}.md")) for i in range(5)
    }
    catalogue = catalogue_of(agents, lambda _n: None, lambda _n: "", [])
    steps = [
        {
            "id": f"s{i}",
            "agent": f"a{i % 5}",
            "action": "respond",
            "params": {},
            "depends_on": [f"s{i - 1}"] if i else [],
        }
        for i in range(10)
    ]
    answer = json.dumps({"objective": "o", "steps": steps})
    times: list[float] = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        plan, problems = parse_plan(answer)
        assert plan is not None and not problems
        assert check_plan(plan, catalogue) == []
        compile_plan(plan, agents)
        times.append((time.perf_counter() - t0) * 1000)
    print(
        f"plan parse+check+compile (10 steps, {rounds} rounds): "
        f"p50 {statistics.median(times):.3f} ms  p99 {percentile(times, 0.99):.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(search_bench(args.entries, args.queries))
    plan_bench(500)


if __name__ == "__main__":
    main()
