"""``orchestra serve`` as a real process: first admin key, --insecure-local, kill -9 and resume.

The slow model is a real OpenAI-compatible HTTP server on 127.0.0.1 (the one
the gateway tests use) that answers after a delay, so a run is mid-step when
the server is killed.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.process import ORCHESTRA, Server, free_port
from tests.api.project import TOML, busy_workflow, write_project
from tests.llm.fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow


@pytest.fixture
def slow_model() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI("slowpoke", default="slow", slow_s=0.8).start()
    yield server
    server.stop()


@pytest.fixture
def served_project(tmp_path: Path, slow_model: FakeOpenAI) -> Path:
    root = write_project(tmp_path / "project", slow_model="slowpoke")
    deployment = slow_model.deployment("slowpoke")["litellm_params"]
    (root / "orchestra.toml").write_text(
        TOML
        + '\n[[models.model_list]]\nmodel_name = "slowpoke"\n'
        + f'litellm_params = {{ model = "{deployment["model"]}", api_base = "{deployment["api_base"]}", api_key = "sk-test" }}\n'
    )
    (root / "workflows" / "busy.workflow.md").write_text(busy_workflow(5))
    return root


def admin_key(output: str) -> str:
    for line in output.splitlines():
        if line.strip().startswith("orch_"):
            return line.strip()
    raise AssertionError(f"no key printed:\n{output}")


def get(server: Server, path: str, key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = httpx.get(f"{server.base}{path}", headers=headers, timeout=10)
    response.raise_for_status()
    return response.json()


def test_kill_9_mid_run_then_restart_finishes_the_run_with_nothing_lost(
    served_project: Path,
) -> None:
    port = free_port()
    first = Server(served_project, port)
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
        first.stop(signal.SIGKILL)
    assert first.process.returncode == -signal.SIGKILL

    second = Server(served_project, port)
    try:
        second.wait_ready()
        assert "Created the first admin API key" not in second.output()
        deadline = time.monotonic() + 60
        while (run := get(second, f"/api/v1/runs/{run_id}", key))["status"] != "succeeded":
            assert run["status"] in ("running", "queued"), run
            assert time.monotonic() < deadline, run
            time.sleep(0.15)
        events = get(second, f"/api/v1/runs/{run_id}/events", key)["items"]
    finally:
        second.stop()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    attempts = {s["id"]: s["attempt"] for s in run["steps"]}
    assert attempts == {"s0": 1, "s1": 1, "s2": 2, "s3": 1, "s4": 1}
    started_steps = [e["step_id"] for e in events if e["type"] == "step_started"]
    assert started_steps == ["s0", "s1", "s2", "s2", "s3", "s4"]
    assert [e["type"] for e in events].count("run_finished") == 1
    assert run["outputs"]["Out4"].startswith("slowpoke says hi")


def test_first_start_prints_an_admin_key_once_and_keys_cli_manages_keys(
    served_project: Path,
) -> None:
    server = Server(served_project, free_port())
    try:
        server.wait_ready()
        key = admin_key(server.output())
        assert f"Web UI: {server.base}/" in server.output()
        assert get(server, "/api/v1/me", key)["role"] == "admin"
        made = subprocess.run(
            [
                str(ORCHESTRA),
                "keys",
                "create",
                "--name",
                "ci",
                "--role",
                "operator",
                "--json",
                "--project",
                str(served_project),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        import json

        created = json.loads(made.stdout)
        assert get(server, "/api/v1/me", created["key"])["role"] == "operator"
        listed = subprocess.run(
            [str(ORCHESTRA), "keys", "list", "--project", str(served_project)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert created["id"] in listed and created["key"] not in listed
        subprocess.run(
            [str(ORCHESTRA), "keys", "revoke", created["id"], "--project", str(served_project)],
            check=True,
            capture_output=True,
        )
        response = httpx.get(
            f"{server.base}/api/v1/me", headers={"Authorization": f"Bearer {created['key']}"}
        )
        assert response.status_code == 401
    finally:
        server.stop()
    assert key not in (served_project / ".orchestra" / "logs" / "orchestra.jsonl").read_text()


def test_insecure_local_serves_without_keys_on_loopback_only(served_project: Path) -> None:
    refused = subprocess.run(
        [
            str(ORCHESTRA),
            "serve",
            "--project",
            str(served_project),
            "--host",
            "0.0.0.0",
            "--insecure-local",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "only listens on 127.0.0.1" in refused.stderr
    server = Server(served_project, free_port(), "--insecure-local")
    try:
        server.wait_ready()
        assert get(server, "/api/v1/me", None) == {
            "key_id": "local",
            "name": "insecure-local",
            "role": "admin",
        }
    finally:
        server.stop()
