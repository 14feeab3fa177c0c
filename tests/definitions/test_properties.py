"""Property tests: random valid DAGs parse to the same graph; random edits never crash."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestra.definitions import Project

EXAMPLES = Path(__file__).parents[2] / "examples"
AGENT = "---\nname: worker\n---\nYou work.\n"


@st.composite
def dags(draw: st.DrawFn) -> dict[str, tuple[set[str], set[str]]]:
    """Step id -> (steps whose output it reads, steps it depends on explicitly)."""
    n = draw(st.integers(min_value=1, max_value=12))
    ids = [f"s{i}" for i in range(n)]
    graph: dict[str, tuple[set[str], set[str]]] = {}
    for i, sid in enumerate(ids):
        earlier = ids[:i]
        reads = set(draw(st.lists(st.sampled_from(earlier), max_size=3))) if earlier else set()
        explicit = set(draw(st.lists(st.sampled_from(earlier), max_size=2))) if earlier else set()
        graph[sid] = (reads, explicit)
    return graph


def render(graph: dict[str, tuple[set[str], set[str]]], order: list[str]) -> str:
    parts = ["---\nname: random\ninputs:\n  Seed: {required: true}\n---\n"]
    for sid in order:
        reads, explicit = graph[sid]
        lines = [f"## Step: {sid}", "* **Agent:** worker"]
        lines.append(
            "* **Input:** " + ", ".join(["${Seed}"] + [f"${{Out_{r}}}" for r in sorted(reads)])
        )
        lines.append(f"* **Output:** ${{Out_{sid}}}")
        if explicit:
            lines.append("* **Depends on:** " + ", ".join(sorted(explicit)))
        lines.append("")
        lines.append(f"Work on step {sid}.")
        parts.append("\n".join(lines) + "\n\n")
    return "".join(parts)


def load(files: dict[str, str]) -> Project:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        return Project.load(root)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=dags(), seed=st.integers(0, 2**32 - 1))
def test_random_valid_dags_parse_to_the_same_graph(
    graph: dict[str, tuple[set[str], set[str]]], seed: int
) -> None:
    order = list(graph)
    random.Random(seed).shuffle(order)  # file order must not matter
    project = load(
        {"agents/worker.agent.md": AGENT, "workflows/random.workflow.md": render(graph, order)}
    )
    assert project.diagnostics == []
    spec = project.workflows["random"]
    assert [s.id for s in spec.steps] == order
    for step in spec.steps:
        reads, explicit = graph[step.id]
        assert set(step.dependencies) == reads | explicit
        assert set(step.input_vars) == {"Seed"} | {f"Out_{r}" for r in reads}
    flat = [sid for layer in spec.layers() for sid in layer]
    assert sorted(flat) == sorted(graph)
    position = {sid: i for i, sid in enumerate(flat)}
    assert all(position[d] < position[s.id] for s in spec.steps for d in s.dependencies)


SNIPPETS = [
    "---",
    "${",
    "}",
    "* **",
    ":** ",
    "## Step: ",
    "\n",
    "[x](",
    ")",
    "'",
    '"',
    "\t",
    "- ",
    ": [",
]


@st.composite
def edits(draw: st.DrawFn, text: str) -> str:
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "dup-line", "swap-lines"]))
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        if kind == "delete":
            text = text[:i] + text[i + draw(st.integers(1, 12)) :]
        elif kind == "insert":
            piece = draw(st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=6)))
            text = text[:i] + piece + text[i:]
        else:
            lines = text.splitlines(keepends=True)
            a = draw(st.integers(0, len(lines) - 1))
            if kind == "dup-line":
                lines.insert(a, lines[a])
            else:
                b = draw(st.integers(0, len(lines) - 1))
                lines[a], lines[b] = lines[b], lines[a]
            text = "".join(lines)
    return text


EXAMPLE_FILES = {
    str(p.relative_to(EXAMPLES)): p.read_text() for p in sorted(EXAMPLES.rglob("*.md"))
}
TARGETS = [k for k in EXAMPLE_FILES if k.endswith((".workflow.md", ".agent.md"))] + [
    "skills/repo-analysis.md"
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), target=st.sampled_from(TARGETS))
def test_random_edits_give_a_spec_or_located_errors(data: st.DataObject, target: str) -> None:
    edited = data.draw(edits(EXAMPLE_FILES[target]))
    project = load({**EXAMPLE_FILES, target: edited})
    total_lines = {
        rel: text.count("\n") + 2 for rel, text in {**EXAMPLE_FILES, target: edited}.items()
    }
    for d in project.diagnostics:
        rel = d.path.name
        matching = [k for k in total_lines if k.endswith(rel)]
        assert matching, d
        assert 1 <= d.line <= max(total_lines[k] for k in matching), d
        assert d.col >= 1 and d.message and d.hint, d
    if not project.diagnostics:
        assert len(project.workflows) == sum(k.endswith(".workflow.md") for k in EXAMPLE_FILES)


def test_a_lone_carriage_return_does_not_misplace_errors() -> None:
    """Found by the property above: a front matter opened as ``-\\r--`` put an error at
    column 0, because one parser ended a line at ``\\r`` and another did not."""
    target = "workflows/prospecting.workflow.md"
    edited = "-\r" + EXAMPLE_FILES[target][1:]
    project = load({**EXAMPLE_FILES, target: edited})
    assert project.diagnostics
    for d in project.diagnostics:
        assert d.line >= 1 and d.col >= 1, d
