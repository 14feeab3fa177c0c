"""A small team on disk for the task tests: agents with capabilities on scripted models
(``broken`` answers every call with an authentication failure: see :func:`scripts`)."""

from __future__ import annotations

from pathlib import Path

from orchestra.llm.scripted import Reply, ScriptedToolCall, ScriptRegistry

CODER = """---
name: coder
model: scripted/echo
description: Writes and fixes Python.
capabilities: [python, tests]
complexity: [1, 6]
max_tasks: 2
---
You write code.
"""

WRITER = """---
name: writer
model: scripted/echo
description: Writes documentation.
capabilities: [docs]
complexity: [1, 10]
---
You write documentation.
"""

BROKEN = """---
name: broken
model: scripted/broken
capabilities: [fragile]
---
You always fail.
"""

BUILDER = """---
name: builder
model: scripted/builder
capabilities: [build]
tools: [task.update, files.write]
---
You build things and report your phases.
"""

WORKFLOW = """---
name: note
inputs:
  Topic: {required: true}
---
## Step: draft
* **Agent:** [Writer](../agents/writer.agent.md)
* **Input:** ${Topic}
* **Output:** ${Draft}

Draft a note about ${Topic}.
"""


def write_team(root: Path, database_url: str | None = None) -> Path:
    """The project folder; ``database_url`` points it at PostgreSQL instead of SQLite."""
    (root / "agents").mkdir(parents=True)
    (root / "workflows").mkdir()
    toml = '[models]\ndefault = "scripted/echo"\n\n[tasks]\npoll_seconds = 0.2\nvenv = false\n'
    if database_url is not None:
        toml += f'\n[database]\nurl = "{database_url}"\n'
    (root / "orchestra.toml").write_text(toml)
    (root / "agents" / "coder.agent.md").write_text(CODER)
    (root / "agents" / "writer.agent.md").write_text(WRITER)
    (root / "agents" / "broken.agent.md").write_text(BROKEN)
    (root / "agents" / "builder.agent.md").write_text(BUILDER)
    (root / "workflows" / "note.workflow.md").write_text(WORKFLOW)
    return root


def scripts() -> ScriptRegistry:
    registry = ScriptRegistry()
    registry.register("broken", lambda _messages: Reply(fail="auth"))
    update = "task.update"
    registry.register(
        "builder",
        [
            Reply(tool_calls=[ScriptedToolCall(update, {"phase": "design", "note": "a plan"})]),
            Reply(
                tool_calls=[
                    ScriptedToolCall(update, {"phase": "build", "note": "wrote it"}),
                    ScriptedToolCall("files.write", {"path": "src/app.py", "content": "x = 1\n"}),
                ]
            ),
            Reply(tool_calls=[ScriptedToolCall(update, {"phase": "test", "note": "green"})]),
            Reply(tool_calls=[ScriptedToolCall(update, {"phase": "build", "note": "oops"})]),
            Reply(text="Built src/app.py and tested it."),
        ],
    )
    return registry
