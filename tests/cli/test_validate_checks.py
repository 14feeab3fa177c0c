"""What `validate` (and `run`) check beyond the files: settings, models, tools (issue 13.6)."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import RunCli

WORKFLOW = "---\nname: wf\n---\n## Step: a\n* **Agent:** a\n\nSay hello.\n"


def _project(tmp_path: Path, agent_front: str, toml: str = "") -> Path:
    (tmp_path / "agents").mkdir()
    (tmp_path / "workflows").mkdir()
    (tmp_path / "orchestra.toml").write_text(toml)
    (tmp_path / "agents" / "a.agent.md").write_text(f"---\nname: a\n{agent_front}---\nHi.\n")
    (tmp_path / "workflows" / "wf.workflow.md").write_text(WORKFLOW)
    return tmp_path


def test_unknown_model_alias_is_a_located_error(orchestra: RunCli, tmp_path: Path) -> None:
    toml = (
        '[[models.model_list]]\nmodel_name = "fast"\nlitellm_params = {model = "scripted/echo"}\n'
    )
    root = _project(tmp_path, "model: gpt-fast\n", toml)
    result = orchestra("validate", cwd=root)
    assert result.returncode == 1
    assert "agents/a.agent.md:3:8: error: unknown model alias 'gpt-fast'" in result.stderr
    assert "fast" in result.stderr and "Traceback" not in result.stderr
    ran = orchestra("run", "wf", cwd=root)
    assert ran.returncode == 2
    assert "unknown model alias 'gpt-fast'" in ran.stderr
    assert not (root / ".orchestra" / "orchestra.db").exists()


def test_known_aliases_and_provider_strings_pass(orchestra: RunCli, tmp_path: Path) -> None:
    (tmp_path / "agents").mkdir()
    for name, model in (("a", "default"), ("b", "local"), ("c", "scripted/echo")):
        (tmp_path / "agents" / f"{name}.agent.md").write_text(
            f"---\nname: {name}\nmodel: {model}\n---\nHi.\n"
        )
    result = orchestra("validate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_misspelt_tool_is_a_located_error_with_did_you_mean(
    orchestra: RunCli, tmp_path: Path
) -> None:
    root = _project(tmp_path, "tools: [files.write, files.raed]\ntool_choice: required\n")
    result = orchestra("validate", "--json", cwd=root)
    assert result.returncode == 1
    [d] = json.loads(result.stdout)["diagnostics"]
    assert (d["code"], d["line"], d["col"]) == ("unknown-tool", 3, 22)
    assert d["hint"].startswith("did you mean 'files.read'?")


def test_mcp_tool_is_a_warning_naming_the_server(orchestra: RunCli, tmp_path: Path) -> None:
    root = _project(
        tmp_path, 'tools: [notes.search]\nmcp: [{name: notes, command: "python notes.py"}]\n'
    )
    result = orchestra("validate", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "warning: tool 'notes.search' is not known until MCP server 'notes'" in result.stderr


def test_invalid_toml_is_an_error_with_its_line(orchestra: RunCli, tmp_path: Path) -> None:
    root = _project(tmp_path, "", toml='[engine]\nmax_concurrency = 4\nlog_level = "INFO\n')
    result = orchestra("validate", cwd=root)
    assert result.returncode == 1
    assert "orchestra.toml:3:" in result.stderr and "invalid TOML" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_setting_is_an_error_with_its_line(orchestra: RunCli, tmp_path: Path) -> None:
    root = _project(tmp_path, "", toml="[engine]\nmax_concurrency = 0\n")
    result = orchestra("validate", cwd=root)
    assert result.returncode == 1
    assert "orchestra.toml:2:1: error: invalid setting engine.max_concurrency" in result.stderr


def test_outside_link_is_refused_by_validate(orchestra: RunCli, tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "workflows").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.agent.md").write_text("---\nname: x\ntools: [shell]\n---\nHi.\n")
    (root / "workflows" / "wf.workflow.md").write_text(
        WORKFLOW.replace("a\n\n", "[X](../../elsewhere/x.agent.md)\n\n")
    )
    result = orchestra("validate", cwd=root)
    assert result.returncode == 1
    assert "outside the project folder" in result.stderr
    (root / "orchestra.toml").write_text('[definitions]\nallow_paths = ["../elsewhere"]\n')
    assert orchestra("validate", cwd=root).returncode == 0


def test_orchestra_toml_that_is_not_utf8_is_located(orchestra: RunCli, tmp_path: Path) -> None:
    root = _project(tmp_path, "")
    (root / "orchestra.toml").write_bytes(b'# caf\xe9\nlog_level = "INFO"\n')
    result = orchestra("validate", cwd=root)
    assert result.returncode == 1
    assert "orchestra.toml:1:6: error: invalid TOML: the file is not UTF-8 text" in result.stderr
    ran = orchestra("run", "wf", cwd=root)
    assert ran.returncode != 0 and "Traceback" not in ran.stderr
    assert "not UTF-8" in ran.stderr
