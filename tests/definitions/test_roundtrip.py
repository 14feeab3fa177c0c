"""Every construct of the file formats parses into the spec field it names."""

from __future__ import annotations

from pathlib import Path

from orchestra.definitions import Budget, Project, load_workflow
from orchestra.definitions.views import workflow_view

from .conftest import WriteProject

EXAMPLES = Path(__file__).parents[2] / "examples"

FULL_AGENT = """\
---
name: full
model: openrouter/meta-llama/llama-3-70b
temperature: 0.7
description: Does everything.
capabilities: [analysis, writing]
complexity: [2, 9]
max_turns: 12
tools: [files.*, shell]
skills: [../skills/s.md]
mcp:
  - {name: notes, command: "python notes.py --flag"}
  - {name: remote, url: "http://127.0.0.1:9000/mcp"}
cache: true
budget: {max_tokens: 5000, max_cost_usd: 0.25}
---
Line one of the prompt.

Line two.
"""

FULL_WORKFLOW = """\
---
name: full-flow
description: Front-matter description.
on_failure: continue
budget: 100000 tokens, $2
inputs:
  Topic: {required: true, description: What to study}
  Tone: {default: friendly}
  Lang: en
  Must:
---
Intro text is not a step.

## Step: first
* **Agent:** [Full](../agents/full.agent.md)
* **Input:** ${Topic}, ${Tone}
* **Output:** ${A}, ${B}
* **Retries:** 3
* **Timeout:** 90s
* **Cache:** on
* **Budget:** 2000 tokens

Study ${Topic} in ${Lang} and ${Must}.

### A sub-heading inside the instruction

- a plain list item stays in the instruction

## Step: second
* **Agent:** full
* **Depends on:** first
* **Approval:** required
* **When:** ${A} == "yes" and ${B} != 'no'
* **Timeout:** 1.5m

Decide.

## Step: third
* **Agent:** full
* **Input:** ${A}
* **Output:** ${C}
Lazy continuation lines belong to the instruction.
"""


def test_every_agent_field(write_project: WriteProject) -> None:
    p = write_project(
        {"agents/full.agent.md": FULL_AGENT, "skills/s.md": "---\nname: s\n---\nSkill body.\n"}
    )
    assert p.diagnostics == []
    a = p.agents["full"]
    assert a.model == "openrouter/meta-llama/llama-3-70b"
    assert a.temperature == 0.7
    assert a.capabilities == ("analysis", "writing")
    assert (a.complexity.min, a.complexity.max) == (2, 9)
    assert a.max_turns == 12
    assert a.tools == ("files.*", "shell")
    assert [s.name for s in a.skills] == ["s"] and a.skills[0].body == "Skill body."
    assert a.mcp_servers[0].command == ["python", "notes.py", "--flag"]
    assert a.mcp_servers[1].url == "http://127.0.0.1:9000/mcp"
    assert a.cache is True
    assert a.budget == Budget(max_tokens=5000, max_cost_usd=0.25)
    assert a.system_prompt == "Line one of the prompt.\n\nLine two."


def test_every_workflow_construct(write_project: WriteProject) -> None:
    p = write_project(
        {
            "agents/full.agent.md": FULL_AGENT,
            "skills/s.md": "Skill body.\n",
            "workflows/full.workflow.md": FULL_WORKFLOW,
        }
    )
    assert p.diagnostics == []
    w = p.workflows["full-flow"]
    assert w.description == "Front-matter description."
    assert w.on_failure == "continue"
    assert w.budget == Budget(max_tokens=100000, max_cost_usd=2.0)
    inputs = {i.name: i for i in w.inputs}
    assert inputs["Topic"].required and inputs["Topic"].description == "What to study"
    assert not inputs["Tone"].required and inputs["Tone"].default == "friendly"
    assert inputs["Lang"].default == "en" and not inputs["Lang"].required
    assert inputs["Must"].required
    first, second, third = w.steps
    assert first.agent_name == "full"
    assert first.input_vars == ("Topic", "Tone", "Lang", "Must")
    assert first.output_vars == ("A", "B")
    assert (first.retries, first.timeout_s, first.cache) == (3, 90.0, True)
    assert first.budget == Budget(max_tokens=2000)
    assert "### A sub-heading" in first.instruction and "- a plain list item" in first.instruction
    assert first.line == 14
    assert second.dependencies == ("first",)
    assert second.approval is True
    assert second.when == "${A} == \"yes\" and ${B} != 'no'"
    assert second.input_vars == ("A", "B")
    assert second.timeout_s == 90.0
    assert third.instruction == "Lazy continuation lines belong to the instruction."
    assert third.dependencies == ("first",)
    assert w.layers() == [["first"], ["second", "third"]]
    assert sorted(w.edges()) == [("first", "second"), ("first", "third")]
    assert workflow_view(w)["outputs"] == ["C"]


def test_examples_are_valid_and_shaped_as_documented() -> None:
    p = Project.load(EXAMPLES)
    assert p.diagnostics == []
    assert set(p.workflows) >= {"zero-to-hero", "research-brief", "prospecting"}
    assert p.workflows["research-brief"].layers() == [
        ["history", "open-questions", "state-of-the-art"],
        ["brief"],
    ]
    assert {"lincoln", "shaun"} <= set(p.agents)
    assert p.workflows["prospecting"].step("record").approval


def test_load_workflow_single_file_uses_its_project() -> None:
    spec = load_workflow(EXAMPLES / "workflows" / "zero-to-hero.workflow.md")
    assert [s.id for s in spec.steps] == ["analyze", "guide"]
    assert spec.agents["analyst"].skills[0].name == "repo-analysis"
    assert len(spec.source_hash) == 64


def test_source_hash_changes_with_an_agent_file(
    write_project: WriteProject, tmp_path: Path
) -> None:
    body = "---\nname: wf\n---\n## Step: a\n* **Agent:** [A](../agents/analyst.agent.md)\n\nGo.\n"
    p = write_project({"workflows/wf.workflow.md": body})
    before = p.workflows["wf"].source_hash
    (tmp_path / "agents/analyst.agent.md").write_text(
        "---\nname: analyst\n---\nNew prompt, longer.\n"
    )
    changed = p.refresh()
    assert {"workflow:wf", "agent:analyst"} <= changed
    assert p.workflows["wf"].source_hash != before
