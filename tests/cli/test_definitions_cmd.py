"""`orchestra init`, `validate` and `show` through the real executable."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import RunCli

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_help_lists_the_commands(orchestra: RunCli) -> None:
    result = orchestra("--help")
    assert result.returncode == 0
    for command in ("init", "validate", "show", "config", "runs", "models", "tools"):
        assert f"  {command}" in result.stdout


def test_init_scaffolds_a_valid_project(orchestra: RunCli, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = orchestra("init", str(target))
    assert result.returncode == 0, result.stderr
    assert (target / "orchestra.toml").is_file()
    assert (target / "workflows" / "zero-to-hero.workflow.md").is_file()
    check = orchestra("validate", "--json", cwd=target)
    assert check.returncode == 0, check.stdout + check.stderr
    report = json.loads(check.stdout)
    assert report["ok"] is True
    assert {"zero-to-hero", "research-brief", "prospecting"} <= set(report["workflows"])


def test_init_refuses_a_folder_that_is_not_empty(orchestra: RunCli, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = orchestra("init", str(tmp_path))
    assert result.returncode == 1
    assert "is not empty" in result.stdout
    assert not (tmp_path / "orchestra.toml").exists()


def test_validate_examples_passes(orchestra: RunCli) -> None:
    result = orchestra("validate", str(EXAMPLES))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok:")


def test_validate_reports_every_error_and_exits_1(orchestra: RunCli, tmp_path: Path) -> None:
    (tmp_path / "agents").mkdir()
    (tmp_path / "workflows").mkdir()
    (tmp_path / "agents" / "a.agent.md").write_text("---\nname: a\ntemperature: 9\n---\nHi.\n")
    (tmp_path / "workflows" / "w.workflow.md").write_text(
        "---\nname: w\n---\n## Step: s\n* **Agent:** b\n\nUse ${X}.\n"
    )
    result = orchestra("validate", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert "agents/a.agent.md:3:14: error: invalid value 9 for 'temperature'" in lines[0]
    assert any(
        line.startswith("workflows/w.workflow.md:5:14: error: unknown agent 'b'") for line in lines
    )
    assert any("${X}" in line and ":7:5: error:" in line for line in lines)
    assert lines[-1] == "3 errors found"


def test_validate_single_file_reports_only_that_file(orchestra: RunCli, tmp_path: Path) -> None:
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "bad.agent.md").write_text("---\nname: bad\nfoo: 1\n---\nHi.\n")
    (tmp_path / "agents" / "good.agent.md").write_text("---\nname: good\n---\nHi.\n")
    assert orchestra("validate", str(tmp_path / "agents" / "good.agent.md")).returncode == 0
    bad = orchestra("validate", "--json", str(tmp_path / "agents" / "bad.agent.md"))
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert [d["code"] for d in report["diagnostics"]] == ["unknown-field"]


def test_validate_missing_path(orchestra: RunCli, tmp_path: Path) -> None:
    result = orchestra("validate", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_show_workflow_prints_layers_and_edges(orchestra: RunCli) -> None:
    result = orchestra("show", "workflow", "research-brief", "--project", str(EXAMPLES))
    assert result.returncode == 0, result.stderr
    assert "layer 0 (runs in parallel)" in result.stdout
    assert "history -> brief" in result.stdout
    as_json = json.loads(
        orchestra("show", "workflow", "research-brief", "-p", str(EXAMPLES), "--json").stdout
    )
    assert as_json["layers"] == [["history", "open-questions", "state-of-the-art"], ["brief"]]
    assert ["history", "brief"] in as_json["edges"]
    assert as_json["outputs"] == ["Brief"]
    assert as_json["inputs"][0]["name"] == "Topic"


def test_show_unknown_workflow_suggests(orchestra: RunCli) -> None:
    result = orchestra("show", "workflow", "zero-to-heroo", "-p", str(EXAMPLES))
    assert result.returncode == 1
    assert "did you mean 'zero-to-hero'?" in result.stderr


def test_listings_have_json(orchestra: RunCli) -> None:
    workflows = json.loads(orchestra("show", "workflows", "-p", str(EXAMPLES), "--json").stdout)
    assert {w["name"] for w in workflows} >= {"zero-to-hero", "prospecting"}
    agents = json.loads(orchestra("show", "agents", "-p", str(EXAMPLES), "--json").stdout)
    lincoln = next(a for a in agents if a["name"] == "lincoln")
    assert lincoln["skills"] == ["prospect-research"]


def test_validate_reports_a_file_that_is_not_utf8_without_a_traceback(
    orchestra: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "a.agent.md").write_bytes(b"---\nname: a\n---\nCaf\xe9.\n")
    result = orchestra("validate", cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "agents/a.agent.md:4:4: error: the file is not UTF-8 text" in result.stderr
