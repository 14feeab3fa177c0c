"""``orchestra serve`` as a real process: first admin key, --insecure-local, kill -9 and resume.

The slow model is a real OpenAI-compatible HTTP server on 127.0.0.1 (the one
the gateway tests use) that answers after a delay, so a run is mid-step when
the server is killed.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.api.process import ORCHESTRA, Server, free_port
from tests.api.served import (
    admin_key,
    api_get,
    assert_only_s2_ran_again,
    slow_project,
    start_busy_run_mid_step,
    wait_until_succeeded,
)
from tests.llm.fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow


@pytest.fixture
def served_project(tmp_path: Path, slow_model: FakeOpenAI) -> Path:
    return slow_project(tmp_path / "project", slow_model)


def test_kill_9_mid_run_then_restart_finishes_the_run_with_nothing_lost(
    served_project: Path,
) -> None:
    port = free_port()
    first = Server(served_project, port)
    try:
        first.wait_ready()
        key = admin_key(first.output())
        run_id = start_busy_run_mid_step(first, key)
    finally:
        first.stop(signal.SIGKILL)
    assert first.process.returncode == -signal.SIGKILL

    second = Server(served_project, port)
    try:
        second.wait_ready()
        assert "Created the first admin API key" not in second.output()
        run, events = wait_until_succeeded(second, run_id, key)
    finally:
        second.stop()
    assert_only_s2_ran_again(run, events)


def test_first_start_prints_an_admin_key_once_and_keys_cli_manages_keys(
    served_project: Path,
) -> None:
    server = Server(served_project, free_port())
    try:
        server.wait_ready()
        key = admin_key(server.output())
        assert f"Web UI: {server.base}/" in server.output()
        assert api_get(server, "/api/v1/me", key)["role"] == "admin"
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
        created = json.loads(made.stdout)
        assert api_get(server, "/api/v1/me", created["key"])["role"] == "operator"
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
        assert api_get(server, "/api/v1/me", None) == {
            "key_id": "local",
            "name": "insecure-local",
            "role": "admin",
        }
    finally:
        server.stop()


def test_a_wrong_router_setting_is_reported_at_start_not_at_the_first_call(
    tmp_path: Path,
) -> None:
    """LiteLLM loads in the background; as soon as it has, serve checks the model
    configuration and names a misspelt router setting with the right suggestion."""
    import time as _time

    from tests.api.project import write_project

    project = write_project(tmp_path / "p")
    toml = project / "orchestra.toml"
    toml.write_text(
        toml.read_text() + '\n[models.router_settings]\nrouting_stratgy = "least-busy"\n'
    )
    server = Server(project, free_port(), "--insecure-local")
    try:
        server.wait_ready()
        # The server's own signal that the check ran: the error line in its output.
        while "model configuration is wrong" not in server.output():
            assert server.process.poll() is None, server.output()
            _time.sleep(0.1)
        assert "'routing_strategy'" in server.output()
    finally:
        server.stop()
