"""SIGTERM to a real ``orchestra serve`` mid-run detaches the run; a restart finishes it.

The slow model is a real OpenAI-compatible HTTP server on 127.0.0.1 answering
after a delay, so the run is mid-step when the server is asked to stop.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestra.engine.ids import RunId
from orchestra.engine.states import RunStatus, StepStatus
from orchestra.store.database import connect
from orchestra.store.run_store import SqlRunStore
from tests.api.process import Server, free_port
from tests.api.project import TOML, busy_workflow, settings_for, write_project
from tests.llm.fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow


@pytest.fixture
def slow_model() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI("slowpoke", default="slow", slow_s=0.8).start()
    yield server
    server.stop()


@pytest.fixture
def project(tmp_path: Path, slow_model: FakeOpenAI) -> Path:
    root = write_project(tmp_path / "project", slow_model="slowpoke")
    deployment = slow_model.deployment("slowpoke")["litellm_params"]
    (root / "orchestra.toml").write_text(
        "[server]\nshutdown_grace_s = 0\n\n"  # no drain: runs in flight are detached at once
        + TOML
        + '\n[[models.model_list]]\nmodel_name = "slowpoke"\n'
        + f'litellm_params = {{ model = "{deployment["model"]}", '
        + f'api_base = "{deployment["api_base"]}", api_key = "sk-test" }}\n'
    )
    (root / "workflows" / "busy.workflow.md").write_text(busy_workflow(5))
    return root


def admin_key(output: str) -> str:
    for line in output.splitlines():
        if line.strip().startswith("orch_"):
            return line.strip()
    raise AssertionError(f"no key printed:\n{output}")


def get(server: Server, path: str, key: str) -> Any:
    response = httpx.get(
        f"{server.base}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )
    response.raise_for_status()
    return response.json()


async def stored(project: Path, run_id: str) -> tuple[Any, list[Any]]:
    database = await connect(settings_for(project).database.url)
    try:
        store = SqlRunStore(database)
        return await store.get_run(RunId(run_id)), await store.list_attempts(RunId(run_id))
    finally:
        await database.aclose()


def test_sigterm_detaches_the_run_and_a_restart_finishes_it(project: Path) -> None:
    port = free_port()
    first = Server(project, port)
    try:
        first.wait_ready()
        key = admin_key(first.output())
        started = httpx.post(
            f"{first.base}/api/v1/runs",
            json={"workflow": "busy", "inputs": {}},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert started.status_code == 201
        run_id = started.json()["id"]
        deadline = time.monotonic() + 60
        while True:
            run = get(first, f"/api/v1/runs/{run_id}", key)
            states = {s["id"]: s["status"] for s in run["steps"]}
            if states["s1"] == "succeeded" and states["s2"] == "running":
                break
            assert run["status"] in ("queued", "running"), (run.get("error"), run["steps"])
            assert time.monotonic() < deadline, run
            time.sleep(0.15)  # stay under the server's default 600/minute rate limit
    finally:
        first.stop(signal.SIGTERM)
    assert first.process.returncode == 0, first.output()

    # Between the two processes: not cancelled, nobody owns anything, the step
    # interrupted mid-call waits to be taken over (unlike after kill -9, no lease
    # is left to expire or to be found dead).
    record, attempts = asyncio.run(stored(project, run_id))
    assert record.status is RunStatus.RUNNING
    assert record.owner is None
    s2 = record.steps["s2"]
    assert (s2.status, s2.lease_owner) == (StepStatus.RUNNING, None)
    assert {(a.step_id, a.attempt): a.status for a in attempts}[("s2", 1)] == "interrupted"
    assert record.steps["s3"].status is StepStatus.PENDING

    second = Server(project, port)
    try:
        second.wait_ready()
        deadline = time.monotonic() + 60
        while (run := get(second, f"/api/v1/runs/{run_id}", key))["status"] != "succeeded":
            assert run["status"] in ("running", "queued"), run
            assert time.monotonic() < deadline, run
            time.sleep(0.15)
        events = get(second, f"/api/v1/runs/{run_id}/events", key)["items"]
    finally:
        second.stop()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {s["id"]: s["attempt"] for s in run["steps"]} == {
        "s0": 1,
        "s1": 1,
        "s2": 2,
        "s3": 1,
        "s4": 1,
    }
    started_steps = [e["step_id"] for e in events if e["type"] == "step_started"]
    assert started_steps == ["s0", "s1", "s2", "s2", "s3", "s4"]  # succeeded steps not re-run
    detached = [e for e in events if e["type"] == "log" and e["content"].get("detached")]
    assert len(detached) == 1 and detached[0]["content"]["interrupted_steps"] == ["s2"]
    assert not [e for e in events if e["type"] == "step_failed"]
    rerun = [e for e in events if e["type"] == "step_started" and e["step_id"] == "s2"][-1]
    assert rerun["content"]["interrupted_attempt"] == 1
    assert [e["type"] for e in events].count("run_finished") == 1
    assert run["outputs"]["Out4"].startswith("slowpoke says hi")
