"""Kill a real process running a workflow with SIGKILL at random points; resume; check.

Each iteration starts a run in a fresh child process (the real engine, SQL
store, step runner and gateway with a scripted model), kills it at a random
moment (sometimes kills the first resume too), resumes it to the end and checks:
steps that had succeeded are never executed again, interrupted steps run again
with their attempt counted, sequence numbers are contiguous, every event a
process published is stored exactly as published, and the outputs are right.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId
from orchestra.engine.protocols import RunRecord
from orchestra.engine.states import RunStatus, StepStatus
from orchestra.store.database import connect
from orchestra.store.run_store import SqlRunStore

WORKER = Path(__file__).with_name("kill_worker.py")
ROOT = Path(__file__).resolve().parents[2]


class Zygote:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert json.loads(self._line()) == {"ready": True}

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "the kill-test fork server died"
        return line

    def ask(self, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        reply: dict[str, Any] = json.loads(self._line())
        return reply

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)
        assert self.process.stdout is not None
        self.process.stdout.close()


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    server = Zygote()
    yield server
    server.close()


@dataclass
class Snapshot:
    record: RunRecord
    starts: Counter[str]


@dataclass
class Tally:
    interrupted_steps: int = 0
    killed_mid_run: int = 0
    notes: list[str] = field(default_factory=list)


def read_log(path: Path) -> list[tuple[str, int, str]]:
    if not path.exists():
        return []
    lines = []
    for line in path.read_text().splitlines():
        key, attempt, phase = line.split()
        lines.append((key, int(attempt), phase))
    return lines


def starts(lines: list[tuple[str, int, str]]) -> Counter[str]:
    return Counter(key.rsplit(":", 1)[1] for key, _, phase in lines if phase == "start")


def printed_events(path: Path) -> list[dict[str, Any]]:
    events = []
    for line in path.read_text().splitlines():
        data = json.loads(line)
        if "crash" in data:
            raise AssertionError(f"worker crashed: {data['crash']}")
        if "seq" in data:
            events.append(data)
    return events


def first_line(path: Path) -> str:
    return path.read_text().split("\n", 1)[0] if path.exists() else ""


def text_of(path: Path) -> str:
    return path.read_text() if path.exists() else ""


async def wait_for_run_id(path: Path) -> str:
    for _ in range(3000):
        first = first_line(path)
        if first and first.endswith("}"):
            data = json.loads(first)
            if "crash" in data:
                raise AssertionError(f"worker crashed: {data['crash']}")
            return str(data["run_id"])
        await asyncio.sleep(0.005)
    raise AssertionError(f"worker never started: {text_of(path)}")


async def wait_for_new_start(log: Path, before: int) -> None:
    """Until the child logs a step start after the first ``before`` lines (or ~10 s pass:
    then the kill lands wherever it lands, which the checks accept too)."""
    for _ in range(2000):
        if any(phase == "start" for _, _, phase in read_log(log)[before:]):
            return
        await asyncio.sleep(0.005)


async def run_kill_iterations(
    zygote: Zygote, url: str, tmp: Path, iterations: int, seed: int
) -> Tally:
    rng = random.Random(seed)
    tally = Tally()
    database = await connect(url)
    store = SqlRunStore(database)
    try:
        for index in range(iterations):
            await one_iteration(zygote, url, store, tmp / f"i{index}", rng, tally)
    finally:
        await database.aclose()
    return tally


async def one_iteration(
    zygote: Zygote, url: str, store: SqlRunStore, folder: Path, rng: random.Random, tally: Tally
) -> None:
    os.makedirs(folder)
    log = folder / "effects.log"
    outputs: list[Path] = []
    snapshots: list[Snapshot] = []
    run_id: str | None = None
    kills = 2 if rng.random() < 0.3 else 1
    for attempt in range(kills + 1):
        out = folder / f"out{attempt}.jsonl"
        outputs.append(out)
        pid = zygote.ask(
            cmd="spawn",
            url=url,
            log=str(log),
            out=str(out),
            run_id=run_id,
            seed=rng.randrange(1 << 30),
        )["pid"]
        before = len(read_log(log))
        run_id = await wait_for_run_id(out)
        if attempt == kills:  # the last resume runs to the end
            status = zygote.ask(cmd="wait", pid=pid)["status"]
            assert os.waitstatus_to_exitcode(status) == 0, out.read_text()[-2000:]
            break
        if rng.random() < 0.5:  # mid-step, however slowly a loaded machine starts the child
            await wait_for_new_start(log, before)
            await asyncio.sleep(rng.uniform(0.0, 0.05))
        else:
            await asyncio.sleep(rng.uniform(0.0, 0.25))
        os.kill(pid, signal.SIGKILL)
        zygote.ask(cmd="wait", pid=pid)  # reaped: its pid is now provably dead
        record = await store.get_run(RunId(run_id))
        snapshots.append(Snapshot(record, starts(read_log(log))))
        if not record.status.terminal:
            tally.killed_mid_run += 1
    assert run_id is not None
    await check(store, RunId(run_id), log, outputs, snapshots, tally)


async def check(
    store: SqlRunStore,
    run_id: RunId,
    log: Path,
    outputs: list[Path],
    snapshots: list[Snapshot],
    tally: Tally,
) -> None:
    final = await store.get_run(run_id)
    assert final.status is RunStatus.SUCCEEDED
    assert {s.status for s in final.steps.values()} == {StepStatus.SUCCEEDED}
    events = await store.read_events(run_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    by_seq = {e.seq: e.to_json() for e in events}
    for out in outputs:  # nothing a process published is lost or altered
        for printed in printed_events(out):
            assert by_seq[printed["seq"]] == printed
    lines = read_log(log)
    starts_per_attempt = Counter(
        (key, attempt) for key, attempt, phase in lines if phase == "start"
    )
    assert max(starts_per_attempt.values()) == 1  # an attempt never executes twice
    final_starts = starts(lines)
    attempts = await store.list_attempts(run_id)
    for snapshot in snapshots:
        for step_id, step in snapshot.record.steps.items():
            if step.status is StepStatus.SUCCEEDED:
                assert final_starts[step_id] == snapshot.starts[step_id], step_id
                assert final.steps[step_id].attempt == step.attempt
            elif step.status is StepStatus.RUNNING:
                tally.interrupted_steps += 1
                assert final.steps[step_id].attempt > step.attempt
                statuses = {a.attempt: a.status for a in attempts if a.step_id == step_id}
                assert statuses[step.attempt] == "interrupted"
    started = Counter(e.step_id for e in events if e.type is EventType.STEP_STARTED)
    completed = Counter(e.step_id for e in events if e.type is EventType.STEP_COMPLETE)
    finished = [e for e in events if e.type is EventType.RUN_FINISHED]
    assert len(finished) == 1
    for step_id, step in final.steps.items():
        assert started[step_id] == step.attempt
        assert completed[step_id] == 1
        assert final_starts[step_id] <= step.attempt
    spec = final.definition.spec
    values: dict[str, str] = {}
    for step_spec in spec.steps:  # echo answers "echo: <instruction with inputs resolved>"
        text = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], step_spec.instruction)
        values[step_spec.output_vars[0]] = final.steps[step_spec.id].outputs[
            step_spec.output_vars[0]
        ]
        assert values[step_spec.output_vars[0]] == f"echo: {text}"


@pytest.mark.slow
async def test_kill_and_resume_sqlite(zygote: Zygote, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/orchestra.db"
    tally = await run_kill_iterations(zygote, url, tmp_path, iterations=25, seed=1234)
    assert tally.killed_mid_run >= 10, tally
    assert tally.interrupted_steps >= 5, tally


@pytest.mark.slow
@pytest.mark.postgres
async def test_kill_and_resume_postgres(zygote: Zygote, postgres_url: str, tmp_path: Path) -> None:
    tally = await run_kill_iterations(zygote, postgres_url, tmp_path, iterations=12, seed=99)
    assert tally.killed_mid_run >= 5, tally
    assert tally.interrupted_steps >= 3, tally
