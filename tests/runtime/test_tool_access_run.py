"""A real run (container, SQLite, scripted model, real MCP server) refuses a tool that
``[tools.access]`` denies the agent and an MCP tool whose version its pin does not admit,
while the permitted tool runs; the model reads why (issue 18.5)."""

from __future__ import annotations

import sys
from pathlib import Path

from orchestra.engine.ids import RunId
from orchestra.llm.scripted import Reply, ScriptedToolCall
from orchestra.runtime.container import Container, ContainerOptions
from tests.api.project import scripts, settings_for, write_project

ECHO_SERVER = Path(__file__).parents[1] / "tools" / "mcp_echo_server.py"

TOOLY = f"""---
name: tooly
model: scripted/tooly
tools: ['files.*', shell, 'echo.echo@^1']
mcp:
  - name: echo
    command: ["{sys.executable}", "{ECHO_SERVER}", "stdio"]
---
You use tools.
"""

READS = """---
name: reads
---
## Step: work
* **Agent:** [Tooly](../agents/tooly.agent.md)
* **Output:** ${Text}

Work.
"""

ACCESS = """
[tools.access]
deny = ["shell"]
[tools.access.agents.tooly]
allow = ["files.list", "echo.*"]
"""


async def test_denied_and_pinned_out_tools_are_refused_in_a_run(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    with (root / "orchestra.toml").open("a") as toml:
        toml.write(ACCESS)
    (root / "agents" / "tooly.agent.md").write_text(TOOLY)
    (root / "workflows" / "reads.workflow.md").write_text(READS)
    registry = scripts()
    registry.register(
        "tooly",
        [
            Reply(tool_calls=[ScriptedToolCall("shell", {"argv": ["ls"]})]),
            Reply(tool_calls=[ScriptedToolCall("files.read", {"path": "README.md"})]),
            Reply(tool_calls=[ScriptedToolCall("echo.echo", {"text": "hi"})]),
            Reply(tool_calls=[ScriptedToolCall("files.list", {"path": "."})]),
            Reply(text="done"),
        ],
    )
    settings = settings_for(root)
    container = await Container.open(
        settings, ContainerOptions(scripts=registry, refresh_s=None, resume=False)
    )
    try:
        run_id = await container.runs.start_run("reads", {})
        await container.runs.wait(run_id)
        events = await container.store.read_events(RunId(run_id))
    finally:
        await container.close()
    results = [e.content for e in events if e.type.value == "tool_result"]
    by_tool = {r["tool"]: r for r in results}
    assert [r["tool"] for r in results] == ["shell", "files.read", "echo.echo", "files.list"]
    assert by_tool["shell"]["status"] == "refused"
    assert "denied by 'shell' in [tools.access]" in by_tool["shell"]["result"]
    assert by_tool["files.read"]["status"] == "refused"
    assert "[tools.access.agents.tooly]" in by_tool["files.read"]["result"]
    assert by_tool["echo.echo"]["status"] == "refused"
    assert "version 2.1.0" in by_tool["echo.echo"]["result"]
    assert by_tool["files.list"]["status"] == "ok"
