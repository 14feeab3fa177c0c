"""Per-tool statistics from stored tool_result events: the runtime query, the API route,
/metrics and ``orchestra tools stats``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from orchestra.api.app import create_app
from orchestra.llm.scripted import Reply, ScriptedToolCall
from orchestra.runtime.container import Container, ContainerOptions
from orchestra.runtime.tool_stats import tool_stats
from orchestra.tools.stats import ToolStats, percentile
from tests.api.project import scripts, settings_for, write_project
from tests.cli.conftest import ORCHESTRA

TOOLY = """---
name: tooly
model: scripted/tooly
tools: [files.*]
---
You read files.
"""

READS = """---
name: reads
---
## Step: read
* **Agent:** [Tooly](../agents/tooly.agent.md)
* **Output:** ${Text}

Read the notes.
"""


def test_percentiles_and_last_error() -> None:
    stats = ToolStats()
    for index, duration in enumerate([5.0, 1.0, 3.0, 100.0]):
        status = "error" if index == 2 else "ok"
        stats.record(
            {"tool": "t", "status": status, "duration_ms": duration, "error": f"boom {index}"},
            float(index),
        )
    (stat,) = stats.snapshot()
    assert (stat.calls, stat.errors) == (4, 1)
    assert (stat.p50_ms, stat.p99_ms) == (3.0, 100.0)
    assert stat.last_error == "boom 2"
    assert percentile([1.0], 0.99) == 1.0


async def test_a_run_s_tool_calls_are_counted_everywhere(tmp_path: Path) -> None:
    root = write_project(tmp_path)
    (root / "agents" / "tooly.agent.md").write_text(TOOLY)
    (root / "workflows" / "reads.workflow.md").write_text(READS)
    registry = scripts()
    registry.register(
        "tooly",
        [
            Reply(tool_calls=[ScriptedToolCall("files.list", {"path": "."})]),
            Reply(tool_calls=[ScriptedToolCall("files.list", {"path": "."})]),
            Reply(tool_calls=[ScriptedToolCall("files.read", {"path": "missing.txt"})]),
            Reply(text="done"),
        ],
    )
    settings = settings_for(root, **{"server.insecure_local": True})
    container = await Container.open(
        settings, ContainerOptions(scripts=registry, refresh_s=None, resume=False)
    )
    try:
        app = create_app(settings, container=container)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            run_id = await container.runs.start_run("reads", {})
            await container.runs.wait(run_id)
            listing, reading = await tool_stats(container.database)
            assert (listing.tool, listing.calls, listing.errors) == ("files.list", 2, 0)
            assert (reading.tool, reading.calls, reading.errors) == ("files.read", 1, 1)
            assert listing.p50_ms is not None and listing.p99_ms is not None
            assert listing.last_error is None
            assert "missing.txt" in (reading.last_error or "")
            listed = (await http.get("/api/v1/tools/stats")).json()
            assert [(s["tool"], s["calls"]) for s in listed] == [
                ("files.list", 2),
                ("files.read", 1),
            ]
            metrics = (await http.get("/metrics")).text
            assert 'orchestra_tool_calls_total{status="ok",tool="files.list"} 2.0' in metrics
            assert 'orchestra_tool_latency_seconds_count{tool="files.read"} 1.0' in metrics
    finally:
        await container.close()
    process = await asyncio.create_subprocess_exec(
        str(ORCHESTRA),
        "tools",
        "stats",
        "--project",
        str(root),
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert [s["errors"] for s in json.loads(out)] == [0, 1]
