"""A test project whose ``pair`` workflow and ``echo`` agent are exposed over MCP and A2A.

Agents answer on the scripted ``echo`` model, so every run is real (stored, driven,
evented) and needs no network."""

from __future__ import annotations

from pathlib import Path

from tests.api.project import write_project


def exposed_project(root: Path) -> Path:
    root = write_project(root)
    pair = root / "workflows" / "pair.workflow.md"
    pair.write_text(
        pair.read_text().replace("---\nname: pair\n", "---\nname: pair\nexpose: [mcp, a2a]\n", 1)
    )
    echo = root / "agents" / "echo.agent.md"
    echo.write_text(
        echo.read_text().replace("---\nname: echo\n", "---\nname: echo\nexpose: [a2a]\n", 1)
    )
    return root
