"""``orchestra run --file``: files go to the run's workspace and into the Files inputs."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import RunCli
from tests.cli.project import make_project

SUMMARY = """---
name: summary
inputs:
  Files: {required: true}
  FileNames: {required: true}
---
## Step: summarise
* **Agent:** [Writer](../agents/writer.agent.md)
* **Input:** ${Files}
* **Output:** ${Summary}

Summarise these files (${FileNames}):

${Files}
"""


def test_files_reach_the_workspace_and_the_prompt(orchestra: RunCli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    (project / "workflows" / "summary.workflow.md").write_text(SUMMARY)
    notes = tmp_path / "notes.txt"
    notes.write_text("Owls hoot at night.\n")
    figures = tmp_path / "figures.csv"
    figures.write_text("year,owls\n2025,12\n")

    done = orchestra(
        "run", "summary", "--file", str(notes), "-f", str(figures), "--json", cwd=project
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    run_id = events[0]["run_id"]
    assert events[0]["content"]["inputs"]["FileNames"] == "inputs/notes.txt\ninputs/figures.csv"
    summary = next(e for e in events if e["type"] == "step_complete")["content"]["outputs"]
    echoed = summary["Summary"]  # the scripted echo model answers with its prompt
    assert "### inputs/notes.txt" in echoed
    assert "Owls hoot at night." in echoed
    assert "2025,12" in echoed

    workspace = project / ".orchestra" / "workspaces" / run_id
    assert (workspace / "inputs" / "notes.txt").read_text() == "Owls hoot at night.\n"
    assert (workspace / "inputs" / "figures.csv").read_text() == "year,owls\n2025,12\n"


def test_files_without_file_inputs_are_still_copied(orchestra: RunCli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    done = orchestra("run", "note", "-i", "Topic=owls", "--file", str(notes), cwd=project)
    assert done.returncode == 0, done.stderr
    assert "declares neither a Files nor a FileNames input" in done.stderr
    copies = list((project / ".orchestra" / "workspaces").glob("*/inputs/notes.txt"))
    assert [c.read_text() for c in copies] == ["hello"]


def test_a_missing_file_is_refused_before_the_run(orchestra: RunCli, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    done = orchestra("run", "note", "-i", "Topic=owls", "--file", "nope.txt", cwd=project)
    assert done.returncode == 2
    assert "nope.txt is not a file" in done.stderr
    assert not (project / ".orchestra" / "workspaces").exists()
