"""A small test project on disk: agents on the scripted model, workflows that exercise runs.

Shared by the API and runtime tests. ``scripted/echo`` answers at once;
``scripted/slow`` (registered by :func:`scripts`) answers like echo after a delay,
to keep a run busy while a test acts on it.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from orchestra.config import Settings, load_settings
from orchestra.engine.ids import RunId
from orchestra.engine.protocols import RunRecord, RunStore
from orchestra.engine.states import RunStatus
from orchestra.llm.scripted import Reply, ScriptRegistry

SLOW_S = 0.3

TOML = """[models]
default = "scripted/echo"
cache = "off"

[[models.model_list]]
model_name = "echo"
litellm_params = { model = "scripted/echo" }
"""

AGENT = """---
name: {name}
model: {model}
description: {name} agent for tests
capabilities: [testing]
tools: [files.read]
---
You answer tests.
"""

PAIR = """---
name: pair
description: Two steps, the second reads the first.
inputs:
  Topic: {required: true}
---
## Step: first
* **Agent:** [Echo](../agents/echo.agent.md)
* **Input:** ${Topic}
* **Output:** ${Draft}

Write about ${Topic}.

## Step: second
* **Agent:** [Echo](../agents/echo.agent.md)
* **Input:** ${Draft}
* **Output:** ${Final}

Improve ${Draft}.
"""

GATED = """---
name: gated
description: A step that waits for approval.
---
## Step: prepare
* **Agent:** [Echo](../agents/echo.agent.md)
* **Output:** ${Plan}

Make a plan.

## Step: act
* **Agent:** [Echo](../agents/echo.agent.md)
* **Input:** ${Plan}
* **Output:** ${Result}
* **Approval:** required

Carry out ${Plan}.
"""


def busy_workflow(steps: int, name: str = "busy") -> str:
    """A chain of ``steps`` slow steps (each reads the previous output)."""
    parts = [f"---\nname: {name}\ndescription: A chain of slow steps.\n---\n"]
    for index in range(steps):
        reads = f"* **Input:** ${{Out{index - 1}}}\n" if index else ""
        parts.append(
            f"## Step: s{index}\n* **Agent:** [Slow](../agents/slow.agent.md)\n{reads}"
            f"* **Output:** ${{Out{index}}}\n\nStep {index} works"
            + (f" on ${{Out{index - 1}}}" if index else "")
            + ".\n\n"
        )
    return "".join(parts)


def write_project(root: Path, *, slow_model: str = "scripted/slow") -> Path:
    (root / "agents").mkdir(parents=True, exist_ok=True)
    (root / "workflows").mkdir(exist_ok=True)
    (root / "orchestra.toml").write_text(TOML)
    (root / "agents" / "echo.agent.md").write_text(AGENT.format(name="echo", model="scripted/echo"))
    # No tools for the slow agent: the fake OpenAI server answers any request that
    # offers tools with a tool call, which would loop the agent to its turn limit.
    slow = AGENT.format(name="slow", model=slow_model).replace("tools: [files.read]\n", "")
    (root / "agents" / "slow.agent.md").write_text(slow)
    (root / "workflows" / "pair.workflow.md").write_text(PAIR)
    (root / "workflows" / "gated.workflow.md").write_text(GATED)
    (root / "workflows" / "busy.workflow.md").write_text(busy_workflow(6))
    return root


def scripts(delay_s: float = SLOW_S) -> ScriptRegistry:
    registry = ScriptRegistry()
    registry.register("slow", lambda _messages: Reply(delay_s=delay_s))
    return registry


def settings_for(root: Path, **overrides: object) -> Settings:
    return load_settings(root, overrides=overrides, env={})


async def wait_for(
    store: RunStore, run_id: str, *states: RunStatus, timeout_s: float = 30.0
) -> RunRecord:
    """Poll the store until the run is in one of ``states`` (default: any terminal state)."""
    deadline = time.monotonic() + timeout_s
    while True:
        record = await store.get_run(RunId(run_id))
        if (record.status in states) if states else record.status.terminal:
            return record
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} stayed {record.status.value}")
        await asyncio.sleep(0.05)
