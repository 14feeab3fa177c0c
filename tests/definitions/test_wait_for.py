"""The ``* **Wait for:** topic=…`` step bullet: parsed into ``StepSpec.wait_for``, no
instruction needed, and each malformed value reported at its file, line and column."""

from __future__ import annotations

import pytest

from orchestra.definitions import Code
from orchestra.definitions.specs import WaitFor

from .conftest import WriteProject, only

HEAD = "---\nname: wf\n---\n"


def wf(bullet: str, instruction: str = "") -> dict[str, str]:
    body = f"## Step: wait\n* **Agent:** analyst\n* **Wait for:** {bullet}\n* **Output:** ${{V}}\n"
    return {"workflows/wf.workflow.md": HEAD + body + (f"\n{instruction}\n" if instruction else "")}


def test_a_wait_step_parses_without_an_instruction(write_project: WriteProject) -> None:
    project = write_project(wf("topic=review.#, timeout=10m"))
    assert project.diagnostics == []
    step = project.workflow("wf").step("wait")
    assert step.wait_for == WaitFor(topic="review.#", timeout_s=600.0)
    assert step.output_vars == ("V",)
    plain = write_project(wf("topic=review.done", "Wait for the verdict."))
    assert plain.workflow("wf").step("wait").wait_for == WaitFor(topic="review.done")


@pytest.mark.parametrize(
    ("bullet", "col", "message", "hint"),
    [
        ("review.done", 17, "expected key=value", "topic=<pattern>"),
        ("topik=review.done", 17, "unknown key 'topik'", "did you mean 'topic'?"),
        ("topic=review..done", 23, "it has an empty word", "topic=<pattern>"),
        ("topic=a, timeout=soon", 34, "invalid timeout 'soon'", "30s, 5m or 1h"),
        ("timeout=5m", 17, "needs a topic", "topic=<pattern>"),
        ("topic=a, topic=b", 26, "'topic' is given twice", "keep one"),
    ],
)
def test_malformed_values_point_at_the_file_line_and_part(
    write_project: WriteProject, bullet: str, col: int, message: str, hint: str
) -> None:
    d = only(write_project(wf(bullet)).diagnostics)
    assert d.code == Code.INVALID_VALUE
    assert d.path.name == "wf.workflow.md"
    assert (d.line, d.col) == (6, col), d.format()
    assert message in d.message and hint in d.hint, d.format()


def test_a_step_without_wait_for_still_needs_an_instruction(write_project: WriteProject) -> None:
    body = "## Step: a\n* **Agent:** analyst\n* **Output:** ${V}\n"
    d = only(write_project({"workflows/wf.workflow.md": HEAD + body}).diagnostics)
    assert d.code == Code.EMPTY_INSTRUCTION
