"""Issue 14.5: ``run`` writes the log file, ``runs show`` fits 80 columns without
``--json``, ``runs events --json`` works, the default shell allowlist is true."""

from __future__ import annotations

import json
from pathlib import Path

from orchestra.config.settings import ToolsSettings
from orchestra.tools.builtin.shell import NEVER_ALLOWED
from tests.cli.conftest import RunCli
from tests.cli.project import make_project


def test_run_log_show_and_events(orchestra: RunCli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    done = orchestra("run", "note", "-i", "Topic=owls", cwd=project)
    assert done.returncode == 0, done.stderr
    run_id = json.loads(orchestra("runs", "list", "--json", cwd=project).stdout)[0]["id"]

    log = project / ".orchestra" / "logs" / "orchestra.jsonl"  # the default log_file
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(
        r["logger"] == "orchestra.cli.run_cmd" and run_id in r["message"] for r in records
    ), records[-5:]

    shown = orchestra("runs", "show", run_id, cwd=project, env={"COLUMNS": "80"})
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "…" not in text  # no header or value cut short
    assert "publish → Post:" in text
    assert "echo: Publish echo: Draft a note about owls.." in text  # outputs, in full
    for dimension in ("agent", "model", "deployment"):
        assert f"model calls per {dimension}" in text
    deployments = text.split("model calls per deployment", 1)[1]
    assert "scripted/echo" in deployments.replace("\n", "").replace(" ", "")

    lines = orchestra("runs", "events", run_id, cwd=project)
    listed = orchestra("runs", "events", run_id, "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == [json.loads(line) for line in lines.stdout.splitlines()]


def test_default_shell_allowlist_names_only_programs_the_shell_tool_runs() -> None:
    assert not set(ToolsSettings().shell_allowlist) & NEVER_ALLOWED
