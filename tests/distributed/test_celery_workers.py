"""Steps on real ``orchestra worker`` processes over real Redis, PostgreSQL the truth.

Each test starts redis-server, workers and ``orchestra run`` as separate processes;
the scripted model (``scripted/echo-after-<N>ms``) is the only stand-in.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.distributed import store_view
from tests.distributed.cluster import ORCHESTRA, Proc, RedisServer, start_worker, write_project
from tests.distributed.conftest import migrated


def _show(project: Path, run_id: str) -> dict[str, Any]:
    shown = subprocess.run(
        [str(ORCHESTRA), "runs", "show", run_id, "--json", "--project", str(project)],
        check=True,
        capture_output=True,
        text=True,
    )
    data: dict[str, Any] = json.loads(shown.stdout)
    return data


def _run_id(url: str) -> str:
    while not (ids := store_view.run_ids(url)):
        time.sleep(0.1)
    return ids[-1]


def _wait_attempt(url: str, run_id: str, step_id: str, attempt: int, status: str) -> dict[str, Any]:
    while True:
        for row in store_view.attempts(url, run_id):
            if row["step_id"] == step_id and row["attempt"] == attempt and row["status"] == status:
                return row
        time.sleep(0.1)


def test_orchestra_run_hands_each_step_to_a_worker_of_its_queue(
    project: Path, postgres_url: str
) -> None:
    cpu = start_worker(project, "cpu1@test", "orchestra")
    gpu = start_worker(project, "gpu1@test", "gpu-a")
    try:
        done = subprocess.run(
            [str(ORCHESTRA), "run", "fan", "--json", "--project", str(project)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        run_id = _run_id(postgres_url)
        shown = _show(project, run_id)
        assert shown["status"] == "succeeded"
        workers = {sid: step["worker"] for sid, step in shown["steps"].items()}
        # c's agent uses model gpu-a, routed to queue gpu-a: only gpu1 listens there.
        assert workers == {"a": "cpu1@test", "b": "cpu1@test", "c": "gpu1@test", "d": "cpu1@test"}
        assert shown["steps"]["d"]["outputs"]["D"].startswith("echo: Join echo: Branch b")
        assert store_view.model_calls(postgres_url, run_id) == {"a": 1, "b": 1, "c": 1, "d": 1}
        assert store_view.seqs(postgres_url, run_id) == list(
            range(1, len(store_view.seqs(postgres_url, run_id)) + 1)
        )
        started = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        assert {e["content"]["worker"] for e in started if e["type"] == "step_started"} == {
            "cpu1@test",
            "gpu1@test",
        }
    finally:
        cpu.stop()
        gpu.stop()


def test_a_paused_worker_loses_its_step_to_another_and_its_late_result_is_refused(
    tmp_path: Path, postgres_url: str, redis: RedisServer
) -> None:
    project = migrated(
        write_project(tmp_path / "p", postgres_url, redis.url, delay_ms=4000, lease_s=2)
    )
    first = start_worker(project, "first@test", "orchestra,gpu-a")
    run = Proc(project, "run", "fan", "--json")
    second: Proc | None = None
    try:
        run_id = _run_id(postgres_url)
        taken = _wait_attempt(postgres_url, run_id, "a", 1, "running")
        assert taken["worker"] == "first@test"
        first.process.send_signal(signal.SIGSTOP)  # alive (its pid exists) but silent
        second = start_worker(project, "second@test", "orchestra,gpu-a")
        # Its lease expires, the driver's reconciler re-sends, the second worker claims
        # attempt 2 under a higher fence and finishes it.
        again = _wait_attempt(postgres_url, run_id, "a", 2, "succeeded")
        assert again["worker"] == "second@test" and again["fence"] > taken["fence"]
        first.process.send_signal(signal.SIGCONT)
        first.wait_for(f"step 'a' of run {run_id} ended running")  # LeaseLost: refused
        assert run.process.wait() == 0, run.output()
        shown = _show(project, run_id)
        assert shown["status"] == "succeeded"
        assert shown["steps"]["a"]["attempt"] == 2
        rows = [r for r in store_view.attempts(postgres_url, run_id) if r["step_id"] == "a"]
        assert [(r["attempt"], r["status"], r["worker"]) for r in rows] == [
            (1, "interrupted", "first@test"),
            (2, "succeeded", "second@test"),
        ]
        seqs = store_view.seqs(postgres_url, run_id)
        assert seqs == list(range(1, len(seqs) + 1))
        for step in "bcd":
            assert [
                r["attempt"]
                for r in store_view.attempts(postgres_url, run_id)
                if r["step_id"] == step
            ] == [1]
    finally:
        first.process.send_signal(signal.SIGCONT)
        first.stop()
        if second is not None:
            second.stop()
        run.stop()


def test_kill_9_of_a_worker_and_a_redis_restart_mid_run_lose_nothing(
    tmp_path: Path, postgres_url: str, redis: RedisServer
) -> None:
    project = migrated(
        write_project(tmp_path / "p", postgres_url, redis.url, delay_ms=2000, lease_s=2)
    )
    doomed = start_worker(project, "doomed@test", "orchestra,gpu-a", concurrency=2)
    run = Proc(project, "run", "fan", "--json")
    survivor: Proc | None = None
    try:
        run_id = _run_id(postgres_url)
        _wait_attempt(postgres_url, run_id, "a", 1, "running")
        doomed.kill()  # kill -9 mid-step: no ack, no cleanup
        redis.restart()  # every queued message and marker is gone too
        survivor = start_worker(project, "survivor@test", "orchestra,gpu-a")
        assert run.process.wait() == 0, run.output()
        shown = _show(project, run_id)
        assert shown["status"] == "succeeded"
        rows = store_view.attempts(postgres_url, run_id)
        a_rows = [(r["attempt"], r["status"], r["worker"]) for r in rows if r["step_id"] == "a"]
        assert a_rows == [(1, "interrupted", "doomed@test"), (2, "succeeded", "survivor@test")]
        for step in "bcd":  # ran once each, after the kill, on the survivor
            assert [(r["attempt"], r["worker"]) for r in rows if r["step_id"] == step] == [
                (1, "survivor@test")
            ]
        seqs = store_view.seqs(postgres_url, run_id)
        assert seqs == list(range(1, len(seqs) + 1))
    finally:
        doomed.kill()
        if survivor is not None:
            survivor.stop()
        run.stop()
