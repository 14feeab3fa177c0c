"""``orchestra runs show`` prints model calls per agent and per model, from the stored calls."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import RunCli
from tests.cli.project import make_project


def test_runs_show_has_per_agent_and_per_model_tables(orchestra: RunCli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    done = orchestra("run", "note", "-i", "Topic=owls", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout.splitlines()[0])["run_id"]

    shown = orchestra("runs", "show", run_id, cwd=project)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "model calls per agent" in text
    assert "model calls per model" in text
    agent_table = text.split("model calls per agent", 1)[1].split("model calls per model", 1)[0]
    writer = next(line for line in agent_table.splitlines() if "writer" in line)
    assert writer.split()[1] == "2"  # the calls column: draft and publish

    data = json.loads(orchestra("runs", "show", run_id, "--json", cwd=project).stdout)
    calls = data["model_calls"]
    assert calls["total"]["calls"] == 2
    assert list(calls["by_step"]) == ["draft", "publish"]
    assert calls["by_agent"]["writer"]["calls"] == 2
    assert sum(m["calls"] for m in calls["by_model"].values()) == 2
    assert calls["total"]["prompt_tokens"] == data["usage"]["prompt_tokens"]
