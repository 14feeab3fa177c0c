"""``orchestra runs cancel`` from another process settles a live run ``cancelled``.

The run is started by a real ``orchestra run`` or ``orchestra serve`` process and is
mid-step, waiting on a real OpenAI-compatible server on 127.0.0.1 that answers only
after a minute. The cancel command opens nothing but the database (``RunControl``):
it leaves a cancel request that the live process must notice (run heartbeat, step
lease renewal) and act on. Had the request been ignored, the first step would have
succeeded once the model answered, and the run would not be cancelled.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.process import Server, free_port
from tests.api.served import admin_key, api_get
from tests.cli.conftest import RunCli
from tests.cli.project import make_slow_project
from tests.cli.test_run_interrupt import start_mid_step
from tests.llm.fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow

MODEL_S = 60.0
"""How long the model takes to answer: far longer than a cancel needs to be noticed."""


@pytest.fixture
def slow_model() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI("slowpoke", default="slow", slow_s=MODEL_S).start()
    yield server
    server.stop()


@pytest.fixture
def project(tmp_path: Path, slow_model: FakeOpenAI) -> Path:
    return make_slow_project(tmp_path / "p", slow_model.deployment("slowpoke")["litellm_params"])


def shown(orchestra: RunCli, project: Path, run_id: str) -> Any:
    result = orchestra("runs", "show", run_id, "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_cancelled(orchestra: RunCli, project: Path, run_id: str) -> None:
    run = shown(orchestra, project, run_id)
    assert run["status"] == "cancelled"
    assert {name: step["status"] for name, step in run["steps"].items()} == {
        "draft": "cancelled",
        "publish": "cancelled",
    }
    stored = orchestra("runs", "events", run_id, cwd=project).stdout.splitlines()
    events = [json.loads(line) for line in stored]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    finished = [e for e in events if e["type"] == "run_finished"]
    assert len(finished) == 1 and finished[0]["content"]["status"] == "cancelled"


def test_cancel_reaches_a_run_driven_by_orchestra_run(orchestra: RunCli, project: Path) -> None:
    runner, run_id = start_mid_step(project)
    try:
        cancelled = orchestra("runs", "cancel", run_id, cwd=project)
        assert cancelled.returncode == 0, cancelled.stderr
        assert f"asked the process driving run {run_id}" in cancelled.stdout

        rest, err = runner.communicate(timeout=MODEL_S / 2)  # only a hang guard
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate()
    assert runner.returncode == 130, err
    events = [json.loads(line) for line in rest.splitlines()]
    assert events[-1]["type"] == "run_finished"
    assert events[-1]["content"]["status"] == "cancelled"
    assert_cancelled(orchestra, project, run_id)
    again = orchestra("runs", "cancel", run_id, cwd=project)
    assert again.returncode == 0
    assert "already finished" in again.stdout


def test_cancel_reaches_a_run_driven_by_orchestra_serve(orchestra: RunCli, project: Path) -> None:
    server = Server(project, free_port())
    try:
        server.wait_ready()  # a hang guard: a loaded machine starts slowly
        key = admin_key(server.output())
        started = httpx.post(
            f"{server.base}/api/v1/runs",
            json={"workflow": "note", "inputs": {"Topic": "owls"}},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert started.status_code == 201, started.text
        run_id = started.json()["id"]
        deadline = time.monotonic() + MODEL_S / 2  # only a hang guard
        while api_get(server, f"/api/v1/runs/{run_id}", key)["steps"][0]["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.15)

        cancelled = orchestra("runs", "cancel", run_id, cwd=project)
        assert cancelled.returncode == 0, cancelled.stderr
        assert f"asked the process driving run {run_id}" in cancelled.stdout

        while (run := api_get(server, f"/api/v1/runs/{run_id}", key))["status"] != "cancelled":
            assert run["status"] == "running", run
            assert time.monotonic() < deadline, run
            time.sleep(0.15)
    finally:
        server.stop()
    assert_cancelled(orchestra, project, run_id)
