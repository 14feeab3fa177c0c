"""From raw Markdown workflow parts to a validated :class:`WorkflowSpec`.

The Markdown-specific half of linking: resolves each step's agent link (confined
to the project), reads its bullets into typed values and variables with their
positions, and hands the resulting :class:`StepDraft` list to
:func:`~orchestra.definitions.builder.check_workflow`, which infers and checks the
graph the same way for the planner and tasks. Every problem is collected;
nothing is raised.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol

from orchestra.definitions.builder import StepDraft, WorkflowDraft, check_workflow
from orchestra.definitions.diagnostics import (
    Code,
    Diagnostic,
    did_you_mean,
    outside_project,
)
from orchestra.definitions.fields import expose_list, parse_duration
from orchestra.definitions.specs import AgentSpec, Budget, InputSpec, WaitFor, WorkflowSpec
from orchestra.definitions.workflow_file import (
    VARIABLE,
    Bullet,
    RawStep,
    RawWorkflow,
    read_inputs,
)
from orchestra.messaging.errors import InvalidTopic
from orchestra.messaging.topics import pattern_words

_LINK = re.compile(r"^\[(?P<label>[^\]]*)\]\((?P<target>[^)\s]+)\)$")
_TRUE = {"required", "yes", "true", "on"}
_FALSE = {"none", "no", "false", "off", "not required", "optional"}
_BULLET_FIELD = {
    "retries": "Retries",
    "timeout_s": "Timeout",
    "approval": "Approval",
    "when": "When",
    "cache": "Cache",
    "budget": "Budget",
    "remember": "Remember",
    "wait_for": "Wait for",
}


class AgentResolver(Protocol):
    """Finds agents for a workflow: the project loader implements it."""

    def agent_at(self, path: Path) -> tuple[AgentSpec | None, bool]:
        """The agent defined in ``path``; (None, True) if the file exists but is invalid."""
        ...

    def agent_named(self, name: str) -> AgentSpec | None: ...

    def allows(self, path: Path) -> bool:
        """Whether a link may point at ``path`` (it stays inside the project)."""
        ...

    def agent_names(self) -> list[str]: ...


_MARKDOWN_HINTS = {
    Code.MISSING_AGENT: "add '* **Agent:** [Name](../agents/name.agent.md)' right below the heading",
    Code.EMPTY_INSTRUCTION: (
        "write what the agent should do below the bullet list, after a blank line"
    ),
    Code.UNDEFINED_VARIABLE: (
        "{guess} Declare it under 'inputs:' in the front matter, or add "
        "'* **Output:** ${{{var}}}' to the step that produces it"
    ),
    Code.CYCLE: (
        "a step cannot wait for itself: remove a 'Depends on' edge or a ${{Var}} "
        "that closes the loop"
    ),
}


def link_workflow(
    raw: RawWorkflow, agents: AgentResolver, source_hash: str = ""
) -> tuple[WorkflowSpec | None, list[Diagnostic]]:
    """Resolve and check ``raw`` through :func:`check_workflow`; None when any problem was found."""
    path = raw.path
    diagnostics = list(raw.diagnostics)
    front = raw.front.data
    drafts = [_draft(path, step, agents, diagnostics) for step in raw.steps]
    budget: Any = front.get("budget")
    if isinstance(budget, str):
        budget = _budget_from_text(budget) or budget
    draft = WorkflowDraft(
        name=str(front.get("name") or path.name.removesuffix(".workflow.md")),
        steps=drafts,
        description=str(front.get("description") or raw.description),
        inputs=tuple(_inputs(raw).values()),
        on_failure=front.get("on_failure", "fail_fast"),
        budget=budget,
        expose=expose_list(front.get("expose", ())),
        source_hash=source_hash,
        positions=raw.front.value_lines,
        hints=_MARKDOWN_HINTS,
    )
    return check_workflow(draft, agents, path, diagnostics)


def _inputs(raw: RawWorkflow) -> dict[str, InputSpec]:
    return read_inputs(raw.front, raw.path)[0]  # its problems are in raw.diagnostics


def _draft(
    path: Path, step: RawStep, agents: AgentResolver, diagnostics: list[Diagnostic]
) -> StepDraft:
    bullets = step.bullets
    agent: AgentSpec | str | None = None
    reported = False
    agent_at = None
    if "Agent" in bullets:
        b = bullets["Agent"]
        agent_at = (b.line, b.col)
        if _LINK.match(b.value):
            agent = _resolve_agent(path, b, agents, diagnostics)
            reported = agent is None
        else:
            agent = b.value.strip()
    reads: dict[str, tuple[int, int]] = {}
    writes: dict[str, tuple[int, int]] = {}
    for name, target in (("Input", reads), ("Output", writes)):
        if name in bullets:
            target.update(_variables(path, bullets[name], diagnostics))
    explicit: dict[str, tuple[int, int]] = {}
    if "Depends on" in bullets:
        b = bullets["Depends on"]
        for part in _split_list(b.value):
            explicit[part] = (b.line, b.col + b.value.find(part))
    return StepDraft(
        id=step.id,
        agent=agent,
        instruction=step.instruction,
        reads=reads,
        writes=writes,
        depends_on=explicit,
        options=_typed_values(path, step, diagnostics),
        line=step.line,
        col=step.col,
        option_positions=step_field_positions(step),
        option_labels=_BULLET_FIELD,
        agent_at=agent_at,
        variable_positions=step.variable_lines,
        agent_reported=reported,
    )


def _resolve_agent(
    path: Path, bullet: Bullet, agents: AgentResolver, diagnostics: list[Diagnostic]
) -> AgentSpec | None:
    link = _LINK.match(bullet.value)
    if link is not None:
        written = path.parent / link.group("target")
        target = written.resolve()
        if target.is_file() and not agents.allows(written):
            diagnostics.append(
                outside_project(
                    path,
                    Path(link.group("target")),
                    bullet.line,
                    bullet.col + bullet.value.find("(") + 1,
                    written,
                )
            )
            return None
        if not target.is_file():
            nearby = (
                sorted(p.name for p in target.parent.glob("*.agent.md"))
                if target.parent.is_dir()
                else []
            )
            guess = did_you_mean(target.name, nearby)
            listing = (
                f"agent files there: {', '.join(nearby)}"
                if nearby
                else ("links are relative to the workflow file, e.g. '../agents/analyst.agent.md'")
            )
            diagnostics.append(
                Diagnostic(
                    path,
                    bullet.line,
                    bullet.col + bullet.value.find("(") + 1,
                    Code.MISSING_FILE,
                    f"agent file '{link.group('target')}' not found",
                    f"{guess} {listing}".strip(),
                )
            )
            return None
        spec, exists = agents.agent_at(target)
        if spec is None and exists:
            diagnostics.append(
                Diagnostic(
                    path,
                    bullet.line,
                    bullet.col,
                    Code.UNKNOWN_AGENT,
                    f"agent file '{link.group('target')}' has errors",
                    "fix the errors reported for that file",
                )
            )
        return spec
    return None


def _variables(
    path: Path, bullet: Bullet, diagnostics: list[Diagnostic]
) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for part in _split_list(bullet.value):
        col = bullet.col + bullet.value.find(part)
        match = VARIABLE.fullmatch(part)
        if match is None:
            diagnostics.append(
                Diagnostic(
                    path,
                    bullet.line,
                    col,
                    Code.INVALID_VALUE,
                    f"'{part}' in '{bullet.name}' is not a variable",
                    f"write variables as ${{Name}}, e.g. '${{{_identifier(part)}}}', "
                    "separated by commas",
                )
            )
            continue
        found[match.group(1)] = (bullet.line, col)
    return found


def _typed_values(path: Path, step: RawStep, diagnostics: list[Diagnostic]) -> dict[str, Any]:
    """Bullet text -> typed options; the builder checks their ranges."""
    bullets = step.bullets
    values: dict[str, Any] = {}
    if "When" in bullets:
        values["when"] = bullets["When"].value
    if "Retries" in bullets:
        text = bullets["Retries"].value
        values["retries"] = int(text) if text.strip().lstrip("-").isdigit() else text
    if "Timeout" in bullets:
        b = bullets["Timeout"]
        seconds = parse_duration(b.value)
        if seconds is None or seconds <= 0:
            diagnostics.append(
                Diagnostic(
                    path,
                    b.line,
                    b.col,
                    Code.INVALID_VALUE,
                    f"invalid value '{b.value}' for 'Timeout': not a positive duration",
                    "write a duration such as 30s, 5m or 1h",
                )
            )
        else:
            values["timeout_s"] = seconds
    for name, key in (("Approval", "approval"), ("Cache", "cache")):
        if name in bullets:
            b = bullets[name]
            flag = _flag(b.value)
            if flag is None:
                diagnostics.append(
                    Diagnostic(
                        path,
                        b.line,
                        b.col,
                        Code.INVALID_VALUE,
                        f"invalid value '{b.value}' for '{name}'",
                        "write 'required' or 'none'"
                        if name == "Approval"
                        else "write 'on' or 'off'",
                    )
                )
            else:
                values[key] = flag
    if "Remember" in bullets:
        # "job_type=prospecting" or just "prospecting"; StepSpec checks the name.
        b = bullets["Remember"]
        key, _, job_type = b.value.strip().rpartition("=")
        if key.strip() not in ("", "job_type") or not job_type.strip():
            diagnostics.append(
                Diagnostic(
                    path,
                    b.line,
                    b.col,
                    Code.INVALID_VALUE,
                    f"invalid value '{b.value}' for 'Remember'",
                    "write the job type the outputs are stored under, e.g. 'job_type=prospecting'",
                )
            )
        else:
            values["remember"] = job_type.strip()
    if "Wait for" in bullets:
        # None when malformed: its errors are reported and the step still counts as a
        # wait step (no "missing instruction" on top of them).
        values["wait_for"] = read_wait_for(path, bullets["Wait for"], diagnostics)
    if "Budget" in bullets:
        b = bullets["Budget"]
        budget = _budget_from_text(b.value)
        if budget is None:
            diagnostics.append(
                Diagnostic(
                    path,
                    b.line,
                    b.col,
                    Code.INVALID_VALUE,
                    f"invalid value '{b.value}' for 'Budget'",
                    "write a token and/or cost limit, e.g. '20000 tokens, $0.50'",
                )
            )
        else:
            values["budget"] = budget
    return values


_WAIT_HINT = "write 'topic=<pattern>', optionally ', timeout=10m', e.g. 'topic=review.done'"


def read_wait_for(path: Path, bullet: Bullet, diagnostics: list[Diagnostic]) -> WaitFor | None:
    """``topic=review.#, timeout=10m`` -> :class:`WaitFor`; problems are reported at the
    part of the value they concern."""
    found: dict[str, str] = {}
    problems = len(diagnostics)

    def problem(part: str, message: str, hint: str = _WAIT_HINT) -> None:
        col = bullet.col + max(0, bullet.value.find(part))
        diagnostics.append(Diagnostic(path, bullet.line, col, Code.INVALID_VALUE, message, hint))

    for part in _split_list(bullet.value):
        key, sep, value = (s.strip() for s in part.partition("="))
        if not sep or not value:
            problem(part, f"invalid value '{part}' for 'Wait for': expected key=value")
        elif key.lower() not in ("topic", "timeout"):
            guess = did_you_mean(key.lower(), ["topic", "timeout"])
            problem(part, f"unknown key '{key}' in 'Wait for'", f"{guess} {_WAIT_HINT}".strip())
        elif key.lower() in found:
            problem(part, f"'{key}' is given twice in 'Wait for'", "keep one")
        else:
            found[key.lower()] = value
    topic = found.get("topic")
    if topic is None and len(diagnostics) == problems:
        problem(bullet.value, "'Wait for' needs a topic", _WAIT_HINT)
    elif topic is not None:
        try:
            pattern_words(topic)
        except InvalidTopic as error:
            problem(topic, f"invalid topic in 'Wait for': {error}", _WAIT_HINT)
    timeout_s = None
    if "timeout" in found:
        timeout_s = parse_duration(found["timeout"])
        if timeout_s is None or timeout_s <= 0:
            problem(
                found["timeout"],
                f"invalid timeout '{found['timeout']}' in 'Wait for': not a positive duration",
                "write a duration such as 30s, 5m or 1h",
            )
    if len(diagnostics) > problems or topic is None:
        return None
    return WaitFor(topic=topic, timeout_s=timeout_s)


def step_field_positions(step: RawStep) -> dict[str, tuple[int, int]]:
    """Spec field -> bullet position, for mapping validation errors back to the file."""
    return {
        spec_field: (step.bullets[name].line, step.bullets[name].col)
        for spec_field, name in _BULLET_FIELD.items()
        if name in step.bullets
    }


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _identifier(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_]", "", text)
    return cleaned or "Name"


def _flag(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return None


_TOKENS = re.compile(r"(\d[\d_]*)\s*tokens?", re.IGNORECASE)
_COST = re.compile(r"\$\s*(\d+(?:\.\d+)?)")


def _budget_from_text(text: str) -> Budget | None:
    tokens, cost = _TOKENS.search(text), _COST.search(text)
    if not tokens and not cost:
        return None
    return Budget(
        max_tokens=int(tokens.group(1).replace("_", "")) if tokens else None,
        max_cost_usd=float(cost.group(1)) if cost else None,
    )
