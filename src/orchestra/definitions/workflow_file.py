"""Reading a ``*.workflow.md`` file into raw, located step data.

This module only reads the file's shape: front matter, ``## Step: id``
sections, their ``* **Field:** value`` bullets and the instruction text.
Resolving agents and checking the graph happens in :mod:`workflow_graph`,
so each stage reports its own mistakes and both can run on partial input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from orchestra.definitions.diagnostics import Code, Diagnostic, did_you_mean
from orchestra.definitions.fields import check_unknown_keys
from orchestra.definitions.frontmatter import FrontMatter, split_front_matter
from orchestra.definitions.specs import InputSpec

WORKFLOW_FIELDS = ("name", "description", "inputs", "on_failure", "budget", "expose")
INPUT_FIELDS = ("required", "default", "description")

BULLETS = {
    "agent": "Agent",
    "input": "Input",
    "inputs": "Input",
    "output": "Output",
    "outputs": "Output",
    "depends on": "Depends on",
    "retries": "Retries",
    "timeout": "Timeout",
    "approval": "Approval",
    "when": "When",
    "cache": "Cache",
    "budget": "Budget",
    "remember": "Remember",
    "wait for": "Wait for",
}
"""What users may write (lower case) -> the canonical bullet name."""

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
STEP_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_STEP_HEADING = re.compile(r"^\s*step\b\s*:?\s*(?P<id>.*)$", re.IGNORECASE)
_BULLET = re.compile(r"^\*\*\s*(?P<key>[^*]+?)\s*:?\s*\*\*\s*:?\s*(?P<value>.*)$")


@dataclass(slots=True)
class Bullet:
    name: str
    """Canonical name, e.g. 'Depends on'."""
    value: str
    line: int
    col: int
    """Column where the value starts."""


@dataclass(slots=True)
class RawStep:
    id: str
    line: int
    col: int
    bullets: dict[str, Bullet] = field(default_factory=dict)
    instruction: str = ""
    instruction_line: int = 0
    variable_lines: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Where each ${Var} of the instruction first appears."""


@dataclass(slots=True)
class RawWorkflow:
    path: Path
    front: FrontMatter
    steps: list[RawStep]
    description: str
    diagnostics: list[Diagnostic]


def read_workflow(path: Path, text: str) -> RawWorkflow:
    """Split a workflow file into located parts, collecting every shape problem."""
    fm = split_front_matter(path, text)
    diagnostics = list(fm.diagnostics)
    if not fm.diagnostics:
        diagnostics += check_unknown_keys(fm, WORKFLOW_FIELDS, path, "workflow")
        diagnostics += _check_inputs(fm, path)
    offset = fm.body_line - 1
    lines = [line.rstrip("\r") for line in fm.body.split("\n")]  # '\n' only, as markdown-it
    tokens = MarkdownIt("commonmark").parse(fm.body)
    headings = [
        i for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2" and t.map
    ]
    first_heading_line = tokens[headings[0]].map[0] if headings else len(lines)  # type: ignore[index]
    description = "\n".join(lines[:first_heading_line]).strip()
    steps: list[RawStep] = []
    for n, index in enumerate(headings):
        heading = tokens[index]
        start = heading.map[0]  # type: ignore[index]
        end_index = headings[n + 1] if n + 1 < len(headings) else len(tokens)
        end = tokens[end_index].map[0] if end_index < len(tokens) else len(lines)  # type: ignore[index]
        title = tokens[index + 1].content
        step = _read_step(path, title, lines, start, end, tokens[index + 3 : end_index], offset)
        if isinstance(step, Diagnostic):
            diagnostics.append(step)
        else:
            diagnostics += step[1]
            steps.append(step[0])
    if not headings and not fm.diagnostics:
        diagnostics.append(
            Diagnostic(
                path,
                fm.body_line,
                1,
                Code.NO_STEPS,
                "workflow has no steps",
                "add a section '## Step: first' with '* **Agent:** [Name](../agents/name.agent.md)'",
            )
        )
    return RawWorkflow(path, fm, steps, description, diagnostics)


def _read_step(
    path: Path,
    title: str,
    lines: list[str],
    start: int,
    end: int,
    tokens: list[Token],
    offset: int,
) -> tuple[RawStep, list[Diagnostic]] | Diagnostic:
    line = start + 1 + offset
    match = _STEP_HEADING.match(title)
    if not match:
        guess = did_you_mean(title.split(":")[0].strip(), ["Step"])
        return Diagnostic(
            path,
            line,
            4,
            Code.BAD_HEADING,
            f"'## {title}' is not a step heading",
            f"{guess} Each '##' heading starts a step: write '## Step: <id>'; "
            "use '###' for headings inside a step".strip(),
        )
    step_id = match.group("id").strip()
    id_col = lines[start].find(step_id) + 1 if step_id else len(lines[start]) + 1
    if not step_id:
        return Diagnostic(
            path,
            line,
            id_col,
            Code.MISSING_STEP_ID,
            "step heading has no id",
            "write '## Step: <id>' with an id such as 'analyze'",
        )
    diagnostics: list[Diagnostic] = []
    if not STEP_ID.match(step_id):
        diagnostics.append(
            Diagnostic(
                path,
                line,
                id_col,
                Code.MISSING_STEP_ID,
                f"step id '{step_id}' is not a valid id",
                "start with a letter and use only letters, digits, '-' and '_', e.g. 'write-guide'",
            )
        )
    step = RawStep(step_id, line, id_col)
    field_lines = _read_bullets(path, step, lines, tokens, offset, diagnostics)
    body_lines = [
        (i, lines[i]) for i in range(start + 1, min(end, len(lines))) if i not in field_lines
    ]
    text = "\n".join(text for _, text in body_lines).strip()
    step.instruction = text
    first = next((i for i, t in body_lines if t.strip()), start)
    step.instruction_line = first + 1 + offset
    for i, text_line in body_lines:
        for var in VARIABLE.finditer(text_line):
            step.variable_lines.setdefault(var.group(1), (i + 1 + offset, var.start() + 1))
    return step, diagnostics


def _read_bullets(
    path: Path,
    step: RawStep,
    lines: list[str],
    tokens: list[Token],
    offset: int,
    diagnostics: list[Diagnostic],
) -> set[int]:
    """Read the step's field list; return the body lines it occupies."""
    items = _field_items(tokens)
    used: set[int] = set()
    for item_line, content in items:
        used.add(item_line)
        raw = lines[item_line]
        line = item_line + 1 + offset
        first = content.split("\n")[0]
        match = _BULLET.match(first)
        if not match:
            diagnostics.append(
                Diagnostic(
                    path,
                    line,
                    1,
                    Code.MALFORMED_BULLET,
                    f"expected a field bullet like '* **Agent:** ...', found '{raw.strip()}'",
                    "move free text below the bullet list, separated by a blank line",
                )
            )
            continue
        key, value = match.group("key").strip().rstrip(":").strip(), match.group("value").strip()
        col = raw.find(value) + 1 if value else len(raw) + 1
        name = BULLETS.get(key.lower())
        if name is None:
            key_col = raw.find(key) + 1
            guess = did_you_mean(key, sorted(set(BULLETS.values())))
            diagnostics.append(
                Diagnostic(
                    path,
                    line,
                    key_col,
                    Code.UNKNOWN_BULLET,
                    f"unknown step field '{key}'",
                    f"{guess} Step fields: {', '.join(sorted(set(BULLETS.values())))}".strip(),
                )
            )
            continue
        if name in step.bullets:
            diagnostics.append(
                Diagnostic(
                    path,
                    line,
                    1,
                    Code.INVALID_VALUE,
                    f"'{name}' is given twice in step '{step.id}' "
                    f"(first on line {step.bullets[name].line})",
                    "keep one bullet; list several variables or steps separated by commas",
                )
            )
            continue
        step.bullets[name] = Bullet(name, value, line, col)
    return used


def _field_items(tokens: list[Token]) -> list[tuple[int, str]]:
    """(line, inline text) of each top-level item of the step's first field list."""
    depth = 0
    items: list[tuple[int, str]] = []
    in_list = False
    for i, token in enumerate(tokens):
        if token.type == "bullet_list_open":
            depth += 1
            if depth == 1 and not in_list:
                first_inline = _next_inline(tokens, i)
                if first_inline is None or not first_inline.content.lstrip().startswith("**"):
                    depth -= 1
                    return []
                in_list = True
        elif token.type == "bullet_list_close":
            depth -= 1
            if depth == 0 and in_list:
                return items
        elif token.type == "list_item_open" and depth == 1 and in_list and token.map:
            inline = _next_inline(tokens, i)
            items.append((token.map[0], inline.content if inline else ""))
        elif not in_list and token.type in (
            "paragraph_open",
            "fence",
            "code_block",
            "heading_open",
        ):
            return []  # the field list must come first in the step
    return items


def _next_inline(tokens: list[Token], start: int) -> Token | None:
    for token in tokens[start:]:
        if token.type == "inline":
            return token
        if token.type in ("list_item_close", "bullet_list_close"):
            return None
    return None


def _check_inputs(fm: FrontMatter, path: Path) -> list[Diagnostic]:
    return read_inputs(fm, path)[1]


def read_inputs(fm: FrontMatter, path: Path) -> tuple[dict[str, InputSpec], list[Diagnostic]]:
    """The workflow's declared inputs, type-checked: ``required`` is a boolean, a
    ``default`` is text (numbers and booleans are written as text), never a list or
    mapping that would reach the agent as a Python repr."""
    raw: Any = fm.data.get("inputs")
    if raw is None:
        return {}, []
    line, col = fm.position("inputs")
    if not isinstance(raw, dict):
        return {}, [
            Diagnostic(
                path,
                line,
                col,
                Code.INVALID_VALUE,
                "'inputs' must be a mapping of input names",
                "write e.g. 'inputs:\\n  RepoUrl: {required: true}\\n  Audience: {default: newcomers}'",
            )
        ]
    found: list[Diagnostic] = []
    inputs: dict[str, InputSpec] = {}
    positions = fm.nested_lines.get("inputs", {})
    for name, value in raw.items():
        at = positions.get(str(name), (line, col))

        def bad(message: str, hint: str, at: tuple[int, int] = at) -> None:
            found.append(Diagnostic(path, *at, Code.INVALID_VALUE, message, hint))

        if not VARIABLE.fullmatch("${" + str(name) + "}"):
            bad(
                f"input name '{name}' is not a valid variable name",
                "use letters, digits and '_', starting with a letter, e.g. 'RepoUrl'",
            )
        fields: dict[str, Any] = value if isinstance(value, dict) else {"default": value}
        for key in fields:
            if key not in INPUT_FIELDS:
                guess = did_you_mean(str(key), INPUT_FIELDS)
                found.append(
                    Diagnostic(
                        path,
                        *at,
                        Code.UNKNOWN_FIELD,
                        f"unknown field '{key}' in input '{name}'",
                        f"{guess} Input fields: {', '.join(INPUT_FIELDS)}".strip(),
                    )
                )
        default = fields.get("default")
        required = fields.get("required", default is None)
        if not isinstance(required, bool):
            bad(
                f"'required' of input '{name}' must be true or false, not {required!r}",
                f"write '{name}: {{required: true}}' or give it a default instead",
            )
            required = True
        if default is not None and not isinstance(default, (str, int, float, bool)):
            kind = "a list" if isinstance(default, list) else "a mapping"
            bad(
                f"the default of input '{name}' is {kind}; inputs are text",
                'quote the value to pass it as text, e.g. default: "a, b"',
            )
            default = None
        description = fields.get("description") or ""
        if not isinstance(description, str):
            bad(f"the description of input '{name}' must be text", "write a sentence")
            description = ""
        inputs[str(name)] = InputSpec(
            name=str(name),
            required=required,
            default=None if default is None else _as_text(default),
            description=description,
        )
    return inputs, found


def _as_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
