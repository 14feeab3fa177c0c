"""Context flows through runs on the real engine and the scripted model: a step with
``Remember:`` stores its outputs (provenance: run, step, agent); an agent whose front
matter asks for context sees those entries, marked with their provenance, in its
prompt; ``context.add`` / ``context.search`` write and read the same store; bad
``context:`` front matter and a bad ``Remember:`` bullet are reported at their line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from orchestra.config import load_settings
from orchestra.context import ContextFilter
from orchestra.context.enrich import HEADING
from orchestra.definitions import DefinitionError, Project
from orchestra.engine.states import RunStatus
from orchestra.llm.scripted import Reply, ScriptedToolCall, ScriptRegistry
from orchestra.runtime.worker import Worker
from orchestra.store.context import ContextRepository

SCOUT = """---
name: scout
model: scripted/scout
---
You find people.
"""

CLOSER = """---
name: closer
model: scripted/closer
tools: [context.search, context.add]
context:
  job_type: prospecting
  query: "${City}"
  top_k: 3
---
You write to prospects.
"""

WORKFLOW = """---
name: prospect
inputs:
  City: {required: true}
---
## Step: find
* **Agent:** [Scout](../agents/scout.agent.md)
* **Input:** ${City}
* **Output:** ${People}
* **Remember:** job_type=prospecting

Find CTOs in ${City}.

## Step: write
* **Agent:** [Closer](../agents/closer.agent.md)
* **Input:** ${City}, ${People}
* **Output:** ${Mail}

Write to ${People} in ${City}.
"""


def project(root: Path) -> Path:
    (root / "agents").mkdir(parents=True)
    (root / "workflows").mkdir()
    (root / "orchestra.toml").write_text('[models]\ndefault = "scripted/echo"\n')
    (root / "agents" / "scout.agent.md").write_text(SCOUT)
    (root / "agents" / "closer.agent.md").write_text(CLOSER)
    (root / "workflows" / "prospect.workflow.md").write_text(WORKFLOW)
    return root


def scripts() -> ScriptRegistry:
    registry = ScriptRegistry()
    registry.register("scout", [Reply(text='["Ada Lovelace, CTO at Analytica"]')], repeat_last=True)
    registry.register(
        "closer",
        [
            Reply(
                tool_calls=[
                    ScriptedToolCall(
                        "context.add",
                        {"job_type": "feedback", "context_data": {"liked": "short mails"}},
                    ),
                    ScriptedToolCall("context.search", {"query": "short", "job_type": "feedback"}),
                ]
            ),
            Reply(text="Dear Ada"),
        ],
    )
    return registry


def system_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("content") or "") for m in messages if m["role"] == "system")


async def test_remembered_outputs_enrich_the_next_agents_prompt(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    registry = scripts()
    settings = load_settings(root, env={})
    spec = Project.load(root).workflow("prospect")
    async with await Worker.open(settings, scripts=registry) as worker:
        run_id, status = await worker.engine.run(spec, {"City": "Berlin"})
        assert status is RunStatus.SUCCEEDED
        repo = ContextRepository(worker.parts.database)
        remembered = await repo.list(ContextFilter(job_type="prospecting"))
        assert len(remembered) == 1
        entry = remembered[0]
        assert entry.context_data == {
            "inputs": {"City": "Berlin"},
            "outputs": {"People": ["Ada Lovelace, CTO at Analytica"]},
        }
        assert entry.job_id == str(run_id)
        assert entry.provenance.kind == "step"
        assert (entry.provenance.run_id, entry.provenance.step_id) == (str(run_id), "find")
        assert entry.provenance.agent == "scout"

        # The closer's first call carried the remembered entry with its provenance.
        first_call = registry.calls("closer")[0]
        system = system_text(first_call)
        assert HEADING in system
        assert "Ada Lovelace" in system
        assert f"from step find of run {run_id} (agent scout)" in system

        # Its tools wrote to and read from the same store.
        feedback = await repo.list(ContextFilter(job_type="feedback"))
        assert [f.context_data for f in feedback] == [{"liked": "short mails"}]
        assert feedback[0].provenance.agent == "closer"
        tool_results = [m for m in registry.calls("closer")[1] if m["role"] == "tool"]
        assert "stored as context #" in str(tool_results[0]["content"])
        assert "short mails" in str(tool_results[1]["content"])

        # Only matching entries come in: another city's query finds none of them.
        assert await repo.search("Lisbon", ContextFilter(job_type="prospecting")) == []


async def test_budget_keeps_whole_entries_only(tmp_path: Path) -> None:
    from orchestra.context.enrich import within_budget
    from orchestra.context.entries import ContextDraft, Provenance

    root = project(tmp_path / "p")
    async with await Worker.open(load_settings(root, env={}), scripts=scripts()) as worker:
        repo = ContextRepository(worker.parts.database)
        for n in range(5):
            draft = ContextDraft(job_id=f"j{n}", job_type="t", context_data={"text": "x" * 300})
            await repo.add(draft, Provenance())
        entries = await repo.list()
        kept = within_budget(entries, max_tokens=200)  # 800 characters: two entries
        assert len(kept) == 2 and all("x" * 300 in k for k in kept)


def test_bad_context_front_matter_and_remember_bullet_name_their_line(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    (root / "agents" / "closer.agent.md").write_text(CLOSER.replace("top_k: 3", "top_k: many"))
    with pytest.raises(DefinitionError) as bad_agent:
        Project.load(root).workflow("prospect")
    text = str(bad_agent.value)
    assert "closer.agent.md:6:" in text and "'many' for 'context'" in text

    root2 = project(tmp_path / "q")
    (root2 / "workflows" / "prospect.workflow.md").write_text(
        WORKFLOW.replace("job_type=prospecting", "kind=prospecting")
    )
    with pytest.raises(DefinitionError) as bad_bullet:
        Project.load(root2).workflow("prospect")
    message = str(bad_bullet.value)
    assert "Remember" in message and "job_type=prospecting" in message
    assert "prospect.workflow.md:10:17:" in message
