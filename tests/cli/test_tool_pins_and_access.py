"""Version pins in agents' tool lists are validated with file:line; `tools list` shows
versions; `tools call --agent` obeys `[tools.access]` (issue 18.5)."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import RunCli

WORKFLOW = "---\nname: wf\n---\n## Step: a\n* **Agent:** a\n\nSay hello.\n"


def _project(tmp_path: Path, agent_front: str, toml: str = "") -> Path:
    (tmp_path / "agents").mkdir()
    (tmp_path / "workflows").mkdir()
    (tmp_path / "orchestra.toml").write_text(toml)
    (tmp_path / "agents" / "a.agent.md").write_text(
        f"---\nname: a\nmodel: scripted/echo\n{agent_front}---\nHi.\n"
    )
    (tmp_path / "workflows" / "wf.workflow.md").write_text(WORKFLOW)
    return tmp_path


def test_a_range_no_registered_version_satisfies_is_a_located_error(
    orchestra: RunCli, tmp_path: Path
) -> None:
    root = _project(tmp_path, "tools:\n  - files.list@^1\n  - files.read@>=2,<3\n")
    result = orchestra("validate", "--json", cwd=root)
    assert result.returncode == 1, result.stdout
    [d] = json.loads(result.stdout)["diagnostics"]
    assert (d["code"], d["line"]) == ("unknown-tool", 6)
    assert "no registered version of 'files.read' satisfies '>=2,<3'" in d["message"]
    assert "files.read 1.0.0" in d["message"]
    ran = orchestra("run", "wf", cwd=root)
    assert ran.returncode == 2 and "satisfies" in ran.stderr


def test_a_malformed_range_is_a_located_error(orchestra: RunCli, tmp_path: Path) -> None:
    root = _project(tmp_path, "tools: [files.list@banana]\n")
    result = orchestra("validate", cwd=root)
    assert result.returncode == 1
    assert "agents/a.agent.md:4:" in result.stderr
    assert "invalid version range 'banana'" in result.stderr


def test_satisfied_pins_validate(orchestra: RunCli, tmp_path: Path) -> None:
    root = _project(tmp_path, "tools: ['files.*@^1', 'shell@~1.0']\n")
    result = orchestra("validate", cwd=root)
    assert result.returncode == 0, result.stderr


def test_tools_list_shows_versions(orchestra: RunCli, tmp_path: Path) -> None:
    root = _project(tmp_path, "")
    listed = orchestra("tools", "list", "--json", "--no-mcp", cwd=root)
    assert listed.returncode == 0, listed.stderr
    rows = {t["name"]: t["version"] for t in json.loads(listed.stdout)["tools"]}
    assert rows["files.read"] == "1.0.0"
    text = orchestra("tools", "list", "--no-mcp", cwd=root)
    assert any(line.split()[:2] == ["files.read", "1.0.0"] for line in text.stdout.splitlines()), (
        text.stdout
    )


def test_access_settings_refuse_a_call_the_agent_file_allows(
    orchestra: RunCli, tmp_path: Path
) -> None:
    toml = '[tools.access]\ndeny = ["shell*"]\n[tools.access.agents.a]\nallow = ["files.list"]\n'
    root = _project(tmp_path, "tools: ['files.*', shell]\n", toml)
    denied = orchestra(
        "tools", "call", "shell", "--agent", "a", "--args", '{"argv": ["ls"]}', "--json", cwd=root
    )
    assert denied.returncode == 2, denied.stdout
    body = json.loads(denied.stdout)
    assert body["status"] == "refused"
    assert "denied by 'shell*' in [tools.access]" in body["content"]
    narrowed = orchestra(
        "tools",
        "call",
        "files.read",
        "--agent",
        "a",
        "--args",
        '{"path": "README.md"}',
        "--json",
        cwd=root,
    )
    assert narrowed.returncode == 2
    assert "[tools.access.agents.a]" in json.loads(narrowed.stdout)["content"]
    allowed = orchestra("tools", "call", "files.list", "--agent", "a", "--json", cwd=root)
    assert allowed.returncode == 0, allowed.stdout
