"""What the embedded base model answers: no runaway loops, and answers about the inputs.

The unit tests pin the repetition cut; the workflow tests run the demo (repo-tour)
and a small summarising workflow on the real packaged Gemma 3 270M, through the
real container (SQLite, engine, gateway, tools, the checklist MCP server). They are
bounded by the model's token caps, not by the wall clock. Before the completion
prompt, every answer ran to the 512-token cap as a loop of
``subtree {"tool_call": …}``, and both checks failed.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from orchestra.config import load_settings
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId
from orchestra.engine.states import RunStatus
from orchestra.llm.local_prompt import (
    cut_repetition,
    cut_repetition_in_json,
    render_prompt,
    repetition_start,
    streamable_length,
)
from orchestra.runtime.container import Container, ContainerOptions

EXAMPLES = Path(__file__).parents[2] / "examples"
LOOP = 'subtree {"tool_call": {"name": "files.write", "arguments": {"path": "a"}}} '


def most_repeated_8gram(text: str) -> int:
    """How often the most frequent 8-word sequence of ``text`` occurs."""
    words = [re.sub(r"[^\w]", "", w.lower()) or w for w in text.split()]
    grams = Counter(tuple(words[i : i + 8]) for i in range(len(words) - 7))
    return max(grams.values(), default=0)


_STOP = {"about", "these", "there", "their", "which", "would", "should", "answer", "request"}


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z0-9_.-]{4,}", text.lower()) if w not in _STOP}


def test_a_loop_is_cut_where_it_starts_again() -> None:
    text = "The notes list three folders. " + LOOP * 6
    cut = cut_repetition(text)
    assert cut.startswith("The notes list three folders.")
    assert most_repeated_8gram(cut) == 1
    assert cut_repetition("subtree " * 40) == "subtree"
    plain = "One two three four five six seven eight nine ten."
    assert repetition_start(plain) is None and cut_repetition(plain) == plain


def test_a_loop_inside_a_structured_answer_is_cut_and_stays_json() -> None:
    answer = '{"Summary": "' + "the sales grew in Ohio again and again " * 5 + '"}'
    assert most_repeated_8gram(cut_repetition_in_json(answer)) == 1
    assert cut_repetition_in_json('{"a": "short"}') == '{"a": "short"}'


def test_streaming_holds_back_the_words_a_cut_could_remove() -> None:
    text = "word " * 5
    assert streamable_length(text, 0) == 0
    long = " ".join(f"w{i}" for i in range(30))
    assert 0 < streamable_length(long, 0) < len(long)


def test_a_forced_call_ends_at_tool_call_after_the_tool_listing() -> None:
    tools = [{"function": {"name": "files.read", "description": "Read a file.", "parameters": {}}}]
    prompt = render_prompt([{"role": "user", "content": "Read a.txt"}], tools, call=True)
    assert "- files.read: Read a file." in prompt
    assert prompt.endswith("Request: Read a.txt\nTool call:")


async def run_workflow(project: Path, workflow: str, inputs: dict[str, str]) -> list[Any]:
    settings = load_settings(project, overrides={"models": {"cache": "off"}}, env={})
    assert settings.models.default == "local"
    container = await Container.open(settings, ContainerOptions(refresh_s=None, resume=False))
    try:
        run_id = await container.runs.start_run(workflow, inputs)
        record = await container.runs.wait(RunId(run_id))
        events = await container.store.read_events(RunId(run_id))
    finally:
        await container.close()
    assert record.status is RunStatus.SUCCEEDED, [
        e.content for e in events if e.type in (EventType.STEP_FAILED, EventType.ERROR)
    ]
    return list(events)


def check_outputs(events: list[Any], given: str) -> dict[str, str]:
    """Each step's output: no 8-word sequence more than twice, and a word of its inputs
    (``given``: the workflow's text and inputs, the step's tool results, earlier outputs)."""
    outputs: dict[str, str] = {}
    seen = given
    for event in events:
        if event.type is EventType.TOOL_RESULT:
            seen += f" {event.content.get('result', '')}"
        if event.type is EventType.STEP_COMPLETE:
            text = " ".join(str(v) for v in (event.content.get("outputs") or {}).values())
            assert text.strip(), f"step {event.step_id} answered nothing"
            assert most_repeated_8gram(text) <= 2, f"{event.step_id} loops: {text!r}"
            assert content_words(text) & content_words(seen), (
                f"{event.step_id} mentions none of its inputs: {text!r}"
            )
            outputs[str(event.step_id)] = text
            seen += f" {text}"
    return outputs


@pytest.mark.slow
@pytest.mark.timeout(0)  # bounded by tokens (each answer's cap), not by time
async def test_the_demo_answers_without_loops_and_about_its_inputs(tmp_path: Path) -> None:
    project = tmp_path / "examples"
    shutil.copytree(EXAMPLES, project, ignore=shutil.ignore_patterns(".orchestra"))
    events = await run_workflow(project, "repo-tour", {})
    workflow = (project / "workflows" / "repo-tour.workflow.md").read_text(encoding="utf-8")
    outputs = check_outputs(events, workflow)
    assert set(outputs) == {"explore", "checklist"}


SUMMARY_AGENT = """---
name: summariser
model: default
temperature: 0.2
description: Summarises notes.
---
You summarise notes for a busy reader: short, factual, only what the notes say.
"""

SUMMARY_WORKFLOW = """---
name: summarise
description: Summarise meeting notes, then pick the action items.
inputs:
  Notes: {required: true}
---
## Step: summary
* **Agent:** [Summariser](../agents/summariser.agent.md)
* **Input:** ${Notes}
* **Output:** ${Summary}

Summarise these meeting notes in two sentences.

Notes: ${Notes}

## Step: actions
* **Agent:** [Summariser](../agents/summariser.agent.md)
* **Input:** ${Notes}, ${Summary}
* **Output:** ${Actions}, ${Owner}

From these notes, list the action items and say who owns most of them.

Notes: ${Notes}
"""

NOTES = (
    "Harbor Bikes met on Tuesday. Revenue from rentals rose 12 percent in October. "
    "Priya will order twenty new helmets. Marco will repaint the shop sign before the "
    "winter market. Priya will also call the insurance broker about the new van."
)


@pytest.mark.slow
@pytest.mark.timeout(0)  # bounded by tokens (each answer's cap), not by time
async def test_a_summarising_workflow_answers_without_loops_and_about_its_inputs(
    tmp_path: Path,
) -> None:
    (tmp_path / "agents").mkdir()
    (tmp_path / "workflows").mkdir()
    (tmp_path / "orchestra.toml").write_text('[models]\ndefault = "local"\n', encoding="utf-8")
    (tmp_path / "agents" / "summariser.agent.md").write_text(SUMMARY_AGENT, encoding="utf-8")
    (tmp_path / "workflows" / "summarise.workflow.md").write_text(
        SUMMARY_WORKFLOW, encoding="utf-8"
    )
    events = await run_workflow(tmp_path, "summarise", {"Notes": NOTES})
    outputs = check_outputs(events, NOTES)
    assert set(outputs) == {"summary", "actions"}
