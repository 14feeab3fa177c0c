"""Ctrl-C on ``orchestra run``: one press cancels cleanly (exit 130); two exit at once and
leave the run consistent (cancelled, or resumable by ``runs resume``).

The model is a real OpenAI-compatible server on 127.0.0.1 that answers after a delay,
so the run is mid-step when SIGINT arrives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import ORCHESTRA, RunCli
from tests.cli.project import make_slow_project
from tests.llm.fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow


@pytest.fixture
def slow_model() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI("slowpoke", default="slow", slow_s=1.5).start()
    yield server
    server.stop()


@pytest.fixture
def project(tmp_path: Path, slow_model: FakeOpenAI) -> Path:
    return make_slow_project(tmp_path / "p", slow_model.deployment("slowpoke")["litellm_params"])


def start_mid_step(project: Path) -> tuple[subprocess.Popen[str], str]:
    """``orchestra run note --json`` until its first step is waiting on the model."""
    process = subprocess.Popen(
        [str(ORCHESTRA), "run", "note", "-i", "Topic=owls", "--json"],
        cwd=project,
        env={**os.environ, "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        event = json.loads(line)
        if event["type"] == "step_started":
            return process, str(event["run_id"])
    raise AssertionError(f"no step started: {process.communicate()}")


def shown(orchestra: RunCli, project: Path, run_id: str) -> Any:
    return json.loads(orchestra("runs", "show", run_id, "--json", cwd=project).stdout)


def test_ctrl_c_cancels_the_run_cleanly_and_exits_130(orchestra: RunCli, project: Path) -> None:
    process, run_id = start_mid_step(project)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    events = [json.loads(line) for line in out.splitlines()]
    assert events[-1]["type"] == "run_finished"
    assert events[-1]["content"]["status"] == "cancelled"
    run = shown(orchestra, project, run_id)
    assert run["status"] == "cancelled"
    assert {name: step["status"] for name, step in run["steps"].items()} == {
        "draft": "cancelled",
        "publish": "cancelled",
    }
    resumed = orchestra("runs", "resume", run_id, cwd=project)
    assert resumed.returncode == 130  # a cancelled run stays cancelled


def test_second_ctrl_c_exits_at_once_leaving_the_run_consistent(
    orchestra: RunCli, project: Path
) -> None:
    process, run_id = start_mid_step(project)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert time.monotonic() - started < 10  # the model call (1.5 s a step) is not waited for
    run = shown(orchestra, project, run_id)
    if run["status"] == "cancelled":  # the first press's cancellation won the race
        assert all(step["status"] == "cancelled" for step in run["steps"].values())
    else:  # detached: nobody owns it, and a resume finishes it with nothing lost
        assert run["status"] == "running"
        resumed = orchestra("runs", "resume", run_id, "--json", cwd=project)
        assert resumed.returncode == 0, resumed.stderr
        assert shown(orchestra, project, run_id)["status"] == "succeeded"
    stored = orchestra("runs", "events", run_id, cwd=project).stdout
    seqs = [json.loads(line)["seq"] for line in stored.splitlines() if line.startswith("{")]
    assert seqs == list(range(1, len(seqs) + 1))
