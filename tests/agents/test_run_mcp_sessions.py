"""Through the real engine: the steps of one run share one MCP session, closed when the run ends.

Real container (SQLite store, engine, gateway, the echo MCP server of
tests/tools as a subprocess); only the model is scripted. Each step asks the
server for its process id and answers with it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from orchestra.config import load_settings
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId
from orchestra.engine.states import RunStatus
from orchestra.llm.scripted import Reply, ScriptedToolCall, ScriptRegistry
from orchestra.runtime.container import Container, ContainerOptions
from tests.api.project import wait_for

ECHO_SERVER = Path(__file__).parents[1] / "tools" / "mcp_echo_server.py"

AGENT = f"""---
name: prober
model: scripted/pid
tools: [echo.pid]
mcp:
  - {{name: echo, command: "python {ECHO_SERVER} stdio"}}
---
You report the MCP server's process id.
"""

WORKFLOW = """---
name: probe
---
## Step: left
* **Agent:** [Prober](../agents/prober.agent.md)
* **Output:** ${Left}

Which process serves you?

## Step: right
* **Agent:** [Prober](../agents/prober.agent.md)
* **Output:** ${Right}

Which process serves you?

## Step: last
* **Agent:** [Prober](../agents/prober.agent.md)
* **Input:** ${Left}, ${Right}
* **Output:** ${Last}

Which process serves you now?
"""


def ask_pid(messages: list[dict[str, Any]]) -> Reply:
    results = [m for m in messages if m.get("role") == "tool"]
    if not results:
        return Reply(tool_calls=[ScriptedToolCall("echo.pid", {})])
    return Reply(text=str(results[-1]["content"]).strip())


def gone(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "zombie" in status.read_text()


async def test_one_session_per_run_closed_when_the_run_ends(tmp_path: Path) -> None:
    (tmp_path / "agents").mkdir()
    (tmp_path / "workflows").mkdir()
    (tmp_path / "orchestra.toml").write_text('[models]\ncache = "off"\n')
    (tmp_path / "agents" / "prober.agent.md").write_text(AGENT)
    (tmp_path / "workflows" / "probe.workflow.md").write_text(WORKFLOW)
    settings = load_settings(tmp_path, env={})
    scripts = ScriptRegistry()
    scripts.register("pid", ask_pid)
    container = await Container.open(
        settings, ContainerOptions(scripts=scripts, refresh_s=None, resume=False)
    )
    try:
        pids = []
        for _ in range(2):
            run_id = await container.runs.start_run("probe", {})
            record = await wait_for(container.store, run_id, timeout_s=60)
            events = await container.store.read_events(RunId(run_id))
            assert record.status is RunStatus.SUCCEEDED, [
                e.content for e in events if e.type is EventType.STEP_FAILED
            ]
            outputs = {
                name: int(value)
                for step in record.steps.values()
                for name, value in step.outputs.items()
            }
            assert len(set(outputs.values())) == 1, outputs  # all three steps, one server
            pid = outputs["Last"]
            for _ in range(200):  # the engine closes the run's sessions after its last step
                if gone(pid):
                    break
                await asyncio.sleep(0.05)
            assert gone(pid), f"MCP server {pid} of finished run {run_id} is still running"
            assert (
                container.step_runner.resources.keys(run_id) == []
            )  # the run's exit stack was closed
            pids.append(pid)
        assert pids[0] != pids[1]  # a new run starts its own server
    finally:
        await container.close()
