"""``orchestra command`` as a user runs it, on the scripted echo model (which answers a
minimal instance of the plan schema: the command's text as every string, so the
command ``find`` yields a valid one-step plan and a sentence an invalid step id)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import RunCli

HELPER = """---
name: helper
model: scripted/echo
description: Does what it is asked.
---
You help.
"""


def project(root: Path) -> Path:
    (root / "agents").mkdir(parents=True)
    (root / "orchestra.toml").write_text('[models]\ndefault = "scripted/echo"\n')
    (root / "agents" / "helper.agent.md").write_text(HELPER)
    return root


def test_dry_run_json_then_approved_run_remembers_its_results(
    orchestra: RunCli, tmp_path: Path
) -> None:
    root = project(tmp_path / "p")
    dry = orchestra("command", "find", "--dry-run", "--json", "--context-job", "J1", cwd=root)
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert planned["status"] == "planned" and planned["run_id"] is None
    assert [(s["agent"], s["action"]) for s in planned["plan"]["steps"]] == [("helper", "respond")]
    listed = json.loads(orchestra("context", "list", "--json", cwd=root).stdout)
    assert listed == []  # a dry run runs nothing

    table = orchestra("command", "find", "--dry-run", cwd=root)
    assert table.returncode == 0 and "DAG:" in table.stdout and "helper" in table.stdout

    refused = orchestra("command", "find", "--context-job", "J1", cwd=root)
    assert refused.returncode == 2 and "--yes" in refused.stderr

    ran = orchestra("command", "find", "--yes", "--json", "--context-job", "J1", cwd=root)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result["status"] == "succeeded" and result["run_id"]
    stored = json.loads(orchestra("context", "list", "--job-id", "J1", "--json", cwd=root).stdout)
    assert len(stored) == 1
    assert stored[0]["job_type"] == "command"
    assert stored[0]["provenance"]["run_id"] == result["run_id"]
    assert stored[0]["provenance"]["agent"] == "helper"


def test_a_plan_that_stays_invalid_is_a_clear_error_with_the_answer(
    orchestra: RunCli, tmp_path: Path
) -> None:
    root = project(tmp_path / "p")
    bad = orchestra("command", "find CTOs in Berlin", "--dry-run", "--json", cwd=root)
    assert bad.returncode == 2
    assert "the model's plan is invalid after one repair" in bad.stderr
    assert "its answer was:" in bad.stderr and "find CTOs in Berlin" in bad.stderr
