"""Viewers never see the server's absolute paths (issue 13, point 11).

Workflow and agent details and definition errors show paths relative to the
project folder.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.api.conftest import Keys, auth

BROKEN = """---
name: broken
description: Names an agent that does not exist.
---
## Step: only
* **Agent:** [Ghost](../agents/ghost.agent.md)
* **Output:** ${Out}
"""


async def test_details_and_errors_show_project_relative_paths(
    client: httpx.AsyncClient, project: Path, keys: Keys
) -> None:
    headers = auth(keys.viewer)
    workflow = (await client.get("/api/v1/workflows/pair", headers=headers)).json()
    assert workflow["path"] == "workflows/pair.workflow.md"
    agents = (await client.get("/api/v1/agents", headers=headers)).json()
    assert {a["path"] for a in agents} >= {"agents/echo.agent.md"}
    agent = (await client.get("/api/v1/agents/echo", headers=headers)).json()
    assert agent["path"] == "agents/echo.agent.md"

    (project / "workflows" / "broken.workflow.md").write_text(BROKEN)
    for _ in range(1200):  # the container re-reads project files every 0.1 s
        answer = await client.get("/api/v1/workflows/broken", headers=headers)
        if answer.status_code != 404:
            break
        await asyncio.sleep(0.05)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"]["diagnostics"][0]["path"] == (
        "workflows/broken.workflow.md"
    )
    assert "workflows/broken.workflow.md" in answer.json()["error"]["message"]
    started = await client.post(
        "/api/v1/runs", json={"workflow": "broken", "inputs": {}}, headers=auth(keys.operator)
    )
    assert started.status_code == 422
    checked = await client.post(
        "/api/v1/workflows/validate",
        json={"filename": "x.workflow.md", "content": BROKEN},
        headers=headers,
    )
    assert checked.json()["diagnostics"][0]["path"] == "workflows/x.workflow.md"
    for text in (answer.text, started.text, checked.text, str(workflow), str(agents)):
        assert str(project) not in text
        assert str(project.parent) not in text
