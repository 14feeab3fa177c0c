"""``orchestra mcp`` as a real subprocess, driven by the official MCP client over stdio."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.protocols.project import exposed_project

ORCHESTRA = Path(sys.executable).parent / "orchestra"


def _server(root: Path) -> StdioServerParameters:
    return StdioServerParameters(command=str(ORCHESTRA), args=["mcp", "--project", str(root)])


async def test_workflow_is_a_tool_with_its_inputs_as_schema_and_runs_as_resources(
    tmp_path: Path,
) -> None:
    root = exposed_project(tmp_path)
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with Client(stdio_client(_server(root)), read_timeout_seconds=120) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == {"pair"}  # gated and busy are not exposed
        schema = tools["pair"].input_schema
        assert schema["properties"] == {"Topic": {"type": "string"}}
        assert schema["required"] == ["Topic"]

        result = await client.call_tool("pair", {"Topic": "otters"}, progress_callback=on_progress)
        assert not result.is_error, result.content
        structured = result.structured_content
        assert set(structured["outputs"]) == {"Final"}
        assert "otters" in structured["outputs"]["Final"]  # echoed through both steps
        assert json.loads(result.content[0].text) == structured  # type: ignore[union-attr]
        # one notification per step start and end, ending with both steps done
        assert len(progress) == 4
        assert progress[-1][:2] == (2.0, 2.0)
        assert "step second done" in (progress[-1][2] or "")

        run_id = structured["run_id"]
        listed = {r.uri for r in (await client.list_resources()).resources}
        assert f"orchestra://runs/{run_id}" in listed
        read = await client.read_resource(f"orchestra://runs/{run_id}")
        run = json.loads(read.contents[0].text)  # type: ignore[union-attr]
        assert run["status"] == "succeeded"
        assert run["inputs"] == {"Topic": "otters"}
        assert run["outputs"] == structured["outputs"]


async def test_missing_input_is_a_tool_error_the_model_can_read(tmp_path: Path) -> None:
    root = exposed_project(tmp_path)
    async with Client(stdio_client(_server(root)), read_timeout_seconds=120) as client:
        result = await client.call_tool("pair", {})
        assert result.is_error
        assert "Topic" in result.content[0].text  # type: ignore[union-attr]
