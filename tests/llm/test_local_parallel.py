"""Parallel steps on the embedded model: it serves one call at a time, and the run's log
says so (real container, real packaged model, bounded by the answers' token caps)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra.engine.events import EventType
from orchestra.llm import notices
from orchestra.llm.local import SERIAL_NOTICE
from tests.llm.test_local_answers import NOTES, SUMMARY_AGENT, run_workflow

PARALLEL_WORKFLOW = """---
name: pair
description: Two summaries of the same notes, side by side.
inputs:
  Notes: {required: true}
---
## Step: short
* **Agent:** [Summariser](../agents/summariser.agent.md)
* **Input:** ${Notes}
* **Output:** ${Short}

Summarise these notes in one sentence.

Notes: ${Notes}

## Step: people
* **Agent:** [Summariser](../agents/summariser.agent.md)
* **Input:** ${Notes}
* **Output:** ${People}

Name the people in these notes and what each will do.

Notes: ${Notes}
"""


async def test_a_notice_reaches_the_listener_of_its_call_only() -> None:
    heard: list[str] = []

    async def listener(message: str) -> None:
        heard.append(message)

    await notices.tell("before")
    with notices.listening(listener):
        await notices.tell("during")
    await notices.tell("after")
    assert heard == ["during"]


@pytest.mark.slow
@pytest.mark.timeout(0)  # bounded by tokens (each answer's cap), not by time
async def test_parallel_steps_on_the_local_model_say_they_run_one_after_another(
    tmp_path: Path,
) -> None:
    (tmp_path / "agents").mkdir()
    (tmp_path / "workflows").mkdir()
    (tmp_path / "orchestra.toml").write_text('[models]\ndefault = "local"\n', encoding="utf-8")
    (tmp_path / "agents" / "summariser.agent.md").write_text(SUMMARY_AGENT, encoding="utf-8")
    (tmp_path / "workflows" / "pair.workflow.md").write_text(PARALLEL_WORKFLOW, encoding="utf-8")
    events = await run_workflow(tmp_path, "pair", {"Notes": NOTES})
    logged = [e for e in events if e.type is EventType.LOG]
    waited = [e for e in logged if e.content.get("message") == SERIAL_NOTICE]
    assert len(waited) == 1, [e.content for e in logged]
    assert waited[0].step_id in {"short", "people"}
