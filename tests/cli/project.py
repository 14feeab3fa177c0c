"""A small project on disk whose agent uses the scripted echo model (no network, no key)."""

from __future__ import annotations

from pathlib import Path

AGENT = """---
name: writer
model: {model}
---
You write.
"""

WORKFLOW = """---
name: {name}
inputs:
  Topic: {{required: true}}
---
## Step: draft
* **Agent:** [Writer](../agents/writer.agent.md)
* **Input:** ${{Topic}}
* **Output:** ${{Draft}}

Draft a note about ${{Topic}}.

## Step: publish
* **Agent:** [Writer](../agents/writer.agent.md)
* **Input:** ${{Draft}}
* **Output:** ${{Post}}
{extra}
Publish ${{Draft}}.
"""


def make_project(root: Path, *, model: str = "scripted/echo", approval: bool = False) -> Path:
    (root / "agents").mkdir(parents=True)
    (root / "workflows").mkdir()
    (root / "orchestra.toml").write_text('[models]\ndefault = "scripted/echo"\n')
    (root / "agents" / "writer.agent.md").write_text(AGENT.format(model=model))
    extra = "* **Approval:** required\n" if approval else ""
    (root / "workflows" / "note.workflow.md").write_text(WORKFLOW.format(name="note", extra=extra))
    return root


def make_slow_project(root: Path, litellm_params: dict[str, str]) -> Path:
    """The project with its writer on model alias ``slowpoke``, served at ``litellm_params``
    (a ``FakeOpenAI(...).deployment("slowpoke")["litellm_params"]``)."""
    make_project(root, model="slowpoke")
    (root / "orchestra.toml").write_text(
        '[models]\ndefault = "scripted/echo"\n\n[[models.model_list]]\nmodel_name = "slowpoke"\n'
        f'litellm_params = {{ model = "{litellm_params["model"]}", '
        f'api_base = "{litellm_params["api_base"]}", api_key = "sk-test" }}\n'
    )
    return root
