"""A real ``orchestra serve`` whose runs wait on a slow model: what the serve tests share.

The slow model is a real OpenAI-compatible HTTP server on 127.0.0.1 (the one
the gateway tests use) answering after a delay, so a run is mid-step when the
server process is stopped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from tests.api.process import Server
from tests.api.project import TOML, busy_workflow, write_project
from tests.llm.fake_openai import FakeOpenAI

BUSY_STEPS = 5


def slow_project(root: Path, slow_model: FakeOpenAI, toml_prefix: str = "") -> Path:
    """A test project whose ``busy`` workflow chains BUSY_STEPS calls to ``slow_model``."""
    root = write_project(root, slow_model="slowpoke")
    deployment = slow_model.deployment("slowpoke")["litellm_params"]
    (root / "orchestra.toml").write_text(
        toml_prefix
        + TOML
        + '\n[[models.model_list]]\nmodel_name = "slowpoke"\n'
        + f'litellm_params = {{ model = "{deployment["model"]}", '
        + f'api_base = "{deployment["api_base"]}", api_key = "sk-test" }}\n'
    )
    (root / "workflows" / "busy.workflow.md").write_text(busy_workflow(BUSY_STEPS))
    return root


def admin_key(output: str) -> str:
    """The first admin key, as ``orchestra serve`` prints it on its first start."""
    for line in output.splitlines():
        if line.strip().startswith("orch_"):
            return line.strip()
    raise AssertionError(f"no key printed:\n{output}")


def api_get(server: Server, path: str, key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = httpx.get(f"{server.base}{path}", headers=headers, timeout=10)
    response.raise_for_status()
    return response.json()


def start_busy_run_mid_step(server: Server, key: str) -> str:
    """Start ``busy`` and return its id once s1 succeeded and s2 waits on the model."""
    started = httpx.post(
        f"{server.base}/api/v1/runs",
        json={"workflow": "busy", "inputs": {}},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert started.status_code == 201
    run_id: str = started.json()["id"]
    while True:  # bounded by the test's timeout, not by a guess of the machine's speed
        run = api_get(server, f"/api/v1/runs/{run_id}", key)
        states = {s["id"]: s["status"] for s in run["steps"]}
        if states["s1"] == "succeeded" and states["s2"] == "running":
            return run_id
        assert run["status"] in ("queued", "running"), (run.get("error"), run["steps"])
        time.sleep(0.15)  # stay under the server's default 600/minute rate limit


def wait_until_succeeded(server: Server, run_id: str, key: str) -> tuple[Any, list[Any]]:
    """Poll until the run succeeds; return it and its stored events."""
    while (run := api_get(server, f"/api/v1/runs/{run_id}", key))["status"] != "succeeded":
        assert run["status"] in ("running", "queued"), run
        time.sleep(0.15)
    return run, api_get(server, f"/api/v1/runs/{run_id}/events", key)["items"]


def assert_only_s2_ran_again(run: Any, events: list[Any]) -> None:
    """After a restart: contiguous seqs, the interrupted s2 ran a second attempt and no
    step that had succeeded ran again; one run_finished; the last output is the model's."""
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert {s["id"]: s["attempt"] for s in run["steps"]} == {
        "s0": 1,
        "s1": 1,
        "s2": 2,
        "s3": 1,
        "s4": 1,
    }
    started_steps = [e["step_id"] for e in events if e["type"] == "step_started"]
    assert started_steps == ["s0", "s1", "s2", "s2", "s3", "s4"]
    assert [e["type"] for e in events].count("run_finished") == 1
    assert run["outputs"]["Out4"].startswith("slowpoke says hi")
