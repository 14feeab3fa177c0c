from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.cli.conftest import RunCli

ECHO_SERVER = Path(__file__).parents[1] / "tools" / "mcp_echo_server.py"
EXAMPLES = Path(__file__).parents[2] / "examples"


def test_tools_list_json_has_every_builtin_with_source_and_schema(
    orchestra: RunCli, tmp_path: Path
) -> None:
    done = orchestra("tools", "list", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    tools = {t["name"]: t for t in json.loads(done.stdout)["tools"]}
    assert {"files.read", "shell", "python", "http.fetch", "web.search"} <= tools.keys()
    assert tools["files.read"]["source"] == "builtin"
    assert tools["files.read"]["parameters"]["required"] == ["path"]


def test_tools_list_includes_configured_mcp_servers(orchestra: RunCli, tmp_path: Path) -> None:
    (tmp_path / "orchestra.toml").write_text(
        f'[[tools.mcp_servers]]\nname = "echo"\ncommand = ["{sys.executable}", "{ECHO_SERVER}", "stdio"]\n'
    )
    done = orchestra("tools", "list", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    tools = {t["name"]: t for t in json.loads(done.stdout)["tools"]}
    assert tools["echo.add"]["source"] == "mcp:echo"


def test_tools_call_runs_a_tool_in_the_given_workspace(orchestra: RunCli, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    done = orchestra(
        "tools", "call", "files.write", "--workspace", str(ws), "--args", '{"path": "output/a.txt", "content": "hi"}',
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (ws / "output" / "a.txt").read_text() == "hi"


def test_tools_call_prints_refusals_and_errors_with_exit_codes(
    orchestra: RunCli, tmp_path: Path
) -> None:
    refused = orchestra(
        "tools", "call", "shell", "--allow", "files.*", "--args", '{"argv": ["ls"]}', cwd=tmp_path
    )
    assert refused.returncode == 2
    assert "not allowed for agent 'cli'; allowed: files.append" in refused.stdout
    error = orchestra("tools", "call", "files.read", "--args", '{"path": "../x"}', cwd=tmp_path)
    assert error.returncode == 1 and "'..'" in error.stdout


def test_tools_call_with_agent_uses_its_tool_list(orchestra: RunCli, tmp_path: Path) -> None:
    (tmp_path / "orchestra.toml").write_text("")
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "reader.agent.md").write_text(
        "---\nname: reader\ntools: [files.read, files.list]\n---\nYou read.\n"
    )
    ok = orchestra("tools", "call", "files.list", "--agent", "reader", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr + ok.stdout
    refused = orchestra(
        "tools", "call", "shell", "--agent", "reader", "--args", '{"argv": ["ls"]}', cwd=tmp_path
    )
    assert refused.returncode == 2
    assert "not allowed for agent 'reader'; allowed: files.list, files.read" in refused.stdout


def test_doctor_reports_the_sandbox(orchestra: RunCli, tmp_path: Path) -> None:
    done = orchestra("doctor", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["sandbox"]["mode"] in ("bwrap", "limits")
    assert report["sandbox"]["reason"]
    assert report["python"].startswith("CPython 3.")


def test_tools_list_includes_mcp_servers_of_agent_files(orchestra: RunCli) -> None:
    result = orchestra("tools", "list", "--json", "-p", str(EXAMPLES))
    assert result.returncode == 0, result.stderr
    tools = {t["name"]: t for t in json.loads(result.stdout)["tools"]}
    assert tools["checklist.add"]["source"] == "mcp:checklist"
