"""``orchestra run`` and ``orchestra runs ...`` through the installed executable."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from tests.cli.conftest import ORCHESTRA, RunCli
from tests.cli.project import make_project


def events_of(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_run_json_then_inspect(orchestra: RunCli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    done = orchestra("run", "note", "-i", "Topic=owls", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    events = events_of(done.stdout)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "run_started"
    assert events[-1]["type"] == "run_finished"
    assert events[-1]["content"]["status"] == "succeeded"  # type: ignore[index]
    run_id = str(events[0]["run_id"])
    complete = [e for e in events if e["type"] == "step_complete"]
    assert complete[-1]["content"]["outputs"] == {  # type: ignore[index]
        "Post": "echo: Publish echo: Draft a note about owls.."
    }
    listed = orchestra("runs", "list", "--json", cwd=project)
    assert [r["id"] for r in json.loads(listed.stdout)] == [run_id]
    shown = json.loads(orchestra("runs", "show", run_id, "--json", cwd=project).stdout)
    assert shown["status"] == "succeeded"
    assert shown["usage"]["calls"] == 2
    assert shown["steps"]["draft"]["usage"]["calls"] == 1
    stored = events_of(orchestra("runs", "events", run_id, cwd=project).stdout)
    assert stored == events
    table = orchestra("runs", "show", run_id, cwd=project)
    assert "total" in table.stdout
    assert "succeeded" in table.stdout


def test_live_view_and_failure_exit_code(orchestra: RunCli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", model="scripted/no-such-script")
    failed = orchestra("run", "note", "-i", "Topic=owls", cwd=project)
    assert failed.returncode == 1
    assert "step_failed" in failed.stdout
    assert "failed" in failed.stdout


def test_bad_input_and_unknown_workflow(orchestra: RunCli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    missing = orchestra("run", "note", cwd=project)
    assert missing.returncode == 2
    assert "-i Topic=VALUE" in missing.stderr
    unknown = orchestra("run", "nope", cwd=project)
    assert unknown.returncode == 2


def test_approval_from_another_process(orchestra: RunCli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", approval=True)
    env = {**os.environ, "NO_COLOR": "1"}
    runner = subprocess.Popen(
        [str(ORCHESTRA), "run", "note", "-i", "Topic=owls", "--json"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert runner.stdout is not None
    seen: list[dict[str, object]] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = runner.stdout.readline()
        assert line, runner.stderr.read() if runner.stderr else ""
        seen.append(json.loads(line))
        if seen[-1]["type"] == "approval_requested":
            break
    run_id = str(seen[0]["run_id"])
    decided = orchestra(
        "runs", "approve", run_id, "publish", "--by", "ana", "--reason", "fine", cwd=project
    )
    assert decided.returncode == 0, decided.stderr
    assert "continues there" in decided.stdout
    rest, _ = runner.communicate(timeout=120)
    assert runner.returncode == 0
    events = seen + events_of(rest)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    shown = json.loads(orchestra("runs", "show", run_id, "--json", cwd=project).stdout)
    assert shown["approvals"]["publish"] == {"decision": "approved", "by": "ana", "reason": "fine"}
    assert shown["status"] == "succeeded"
