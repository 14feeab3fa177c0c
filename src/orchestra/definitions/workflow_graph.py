"""From raw workflow parts to a validated :class:`WorkflowSpec`.

Resolves each step's agent, reads its bullets into typed values, infers the
dependency graph from variables (a step that reads ``${X}`` waits for the
step that writes it) plus explicit ``Depends on`` edges, and checks the
graph as a whole: unknown steps, undefined variables, duplicate outputs and
cycles. Every problem is collected; nothing is raised.
"""

from __future__ import annotations

import graphlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from orchestra.definitions.diagnostics import (
    Code,
    Diagnostic,
    choices_hint,
    did_you_mean,
    outside_project,
)
from orchestra.definitions.fields import parse_duration, validation_diagnostics
from orchestra.definitions.specs import AgentSpec, Budget, InputSpec, StepSpec, WorkflowSpec
from orchestra.definitions.workflow_file import VARIABLE, Bullet, RawStep, RawWorkflow

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


@dataclass(slots=True)
class _StepDraft:
    raw: RawStep
    agent: AgentSpec | None = None
    reads: dict[str, tuple[int, int]] = field(default_factory=dict)
    writes: dict[str, tuple[int, int]] = field(default_factory=dict)
    explicit: dict[str, tuple[int, int]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


def link_workflow(
    raw: RawWorkflow, agents: AgentResolver, source_hash: str = ""
) -> tuple[WorkflowSpec | None, list[Diagnostic]]:
    """Resolve and check ``raw``; the spec is None when any problem was found."""
    path = raw.path
    diagnostics = list(raw.diagnostics)
    inputs = _inputs(raw)
    drafts: list[_StepDraft] = []
    seen: dict[str, int] = {}
    for step in raw.steps:
        if step.id in seen:
            diagnostics.append(
                Diagnostic(
                    path,
                    step.line,
                    step.col,
                    Code.DUPLICATE_STEP_ID,
                    f"step id '{step.id}' is already used on line {seen[step.id]}",
                    "give each step a unique id",
                )
            )
            continue
        seen[step.id] = step.line
        drafts.append(_draft(path, step, agents, diagnostics))
    diagnostics += _check_graph(path, drafts, inputs)
    if diagnostics:
        return None, diagnostics
    front = raw.front.data
    try:
        spec = WorkflowSpec(
            name=str(front.get("name") or path.name.removesuffix(".workflow.md")),
            description=str(front.get("description") or raw.description),
            inputs=tuple(inputs.values()),
            steps=tuple(_step_spec(d) for d in drafts),
            on_failure=front.get("on_failure", "fail_fast"),
            budget=_budget_from_yaml(front.get("budget")),
            agents={d.agent.name: d.agent for d in drafts if d.agent},
            path=path,
            source_hash=source_hash,
        )
    except ValidationError as exc:
        return None, validation_diagnostics(exc, path, raw.front.value_lines)
    return spec, []


def _inputs(raw: RawWorkflow) -> dict[str, InputSpec]:
    declared = raw.front.data.get("inputs")
    if not isinstance(declared, dict):
        return {}
    inputs: dict[str, InputSpec] = {}
    for name, value in declared.items():
        if isinstance(value, dict):
            default = value.get("default")
            inputs[str(name)] = InputSpec(
                name=str(name),
                required=bool(value.get("required", default is None)),
                default=None if default is None else str(default),
                description=str(value.get("description") or ""),
            )
        else:  # 'Name: value' is a default; 'Name:' alone is required
            inputs[str(name)] = InputSpec(
                name=str(name),
                required=value is None,
                default=None if value is None else str(value),
            )
    return inputs


def _draft(
    path: Path, step: RawStep, agents: AgentResolver, diagnostics: list[Diagnostic]
) -> _StepDraft:
    draft = _StepDraft(step)
    bullets = step.bullets
    agent = bullets.get("Agent")
    if agent is None:
        diagnostics.append(
            Diagnostic(
                path,
                step.line,
                step.col,
                Code.MISSING_AGENT,
                f"step '{step.id}' has no agent",
                "add '* **Agent:** [Name](../agents/name.agent.md)' right below the heading",
            )
        )
    else:
        draft.agent = _resolve_agent(path, agent, agents, diagnostics)
    for name in ("Input", "Output"):
        if name in bullets:
            target = draft.reads if name == "Input" else draft.writes
            target.update(_variables(path, bullets[name], diagnostics))
    for var, pos in step.variable_lines.items():
        draft.reads.setdefault(var, pos)
    if "When" in bullets:
        draft.values["when"] = bullets["When"].value
        for match in VARIABLE.finditer(bullets["When"].value):
            draft.reads.setdefault(match.group(1), (bullets["When"].line, bullets["When"].col))
    if "Depends on" in bullets:
        b = bullets["Depends on"]
        for part in _split_list(b.value):
            draft.explicit[part] = (b.line, b.col + b.value.find(part))
    _typed_values(path, draft, diagnostics)
    if not step.instruction:
        diagnostics.append(
            Diagnostic(
                path,
                step.line,
                step.col,
                Code.EMPTY_INSTRUCTION,
                f"step '{step.id}' has no instruction",
                "write what the agent should do below the bullet list, after a blank line",
            )
        )
    return draft


def _resolve_agent(
    path: Path, bullet: Bullet, agents: AgentResolver, diagnostics: list[Diagnostic]
) -> AgentSpec | None:
    link = _LINK.match(bullet.value)
    if link:
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
    name = bullet.value.strip()
    spec = agents.agent_named(name)
    if spec is None:
        diagnostics.append(
            Diagnostic(
                path,
                bullet.line,
                bullet.col,
                Code.UNKNOWN_AGENT,
                f"unknown agent '{name}'",
                choices_hint(name, agents.agent_names(), "Agents in this project"),
            )
        )
    return spec


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


def _typed_values(path: Path, draft: _StepDraft, diagnostics: list[Diagnostic]) -> None:
    bullets = draft.raw.bullets
    values = draft.values
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
    try:  # check the typed values now, so their errors are reported with all others
        StepSpec.model_validate(
            {"id": draft.raw.id, "agent_name": "-", "instruction": "-", **values}
        )
    except ValidationError as exc:
        found = validation_diagnostics(
            exc,
            path,
            step_field_positions(draft.raw),
            (draft.raw.line, draft.raw.col),
            _BULLET_FIELD,
        )
        diagnostics += found
        for error in exc.errors():
            values.pop(str(error["loc"][0]) if error["loc"] else "", None)


def _check_graph(
    path: Path, drafts: list[_StepDraft], inputs: dict[str, InputSpec]
) -> list[Diagnostic]:
    diagnostics: list[Diagnostic] = []
    writer: dict[str, _StepDraft] = {}
    for draft in drafts:
        for var, (line, col) in draft.writes.items():
            if var in inputs:
                diagnostics.append(
                    Diagnostic(
                        path,
                        line,
                        col,
                        Code.DUPLICATE_OUTPUT,
                        f"output ${{{var}}} has the same name as a workflow input",
                        "rename the output, or remove the input from the front matter",
                    )
                )
            elif var in writer:
                first = writer[var]
                diagnostics.append(
                    Diagnostic(
                        path,
                        line,
                        col,
                        Code.DUPLICATE_OUTPUT,
                        f"output ${{{var}}} is already written by step '{first.raw.id}' "
                        f"(line {first.writes[var][0]})",
                        "each variable has one writer: rename one of the outputs",
                    )
                )
            else:
                writer[var] = draft
    known = sorted(set(inputs) | set(writer))
    ids = {d.raw.id for d in drafts}
    graph: dict[str, set[str]] = {}
    for draft in drafts:
        deps: set[str] = set()
        for var, (line, col) in draft.reads.items():
            if var in inputs:
                continue
            source = writer.get(var)
            if source is None:
                guess = did_you_mean(var, known)
                diagnostics.append(
                    Diagnostic(
                        path,
                        line,
                        col,
                        Code.UNDEFINED_VARIABLE,
                        f"variable ${{{var}}} is read by step '{draft.raw.id}' "
                        "but no step writes it and it is not a workflow input",
                        f"{guess} Declare it under 'inputs:' in the front matter, or add "
                        f"'* **Output:** ${{{var}}}' to the step that produces it".strip(),
                    )
                )
            else:
                deps.add(source.raw.id)
        for dep, (line, col) in draft.explicit.items():
            if dep not in ids:
                diagnostics.append(
                    Diagnostic(
                        path,
                        line,
                        col,
                        Code.UNKNOWN_STEP,
                        f"step '{draft.raw.id}' depends on unknown step '{dep}'",
                        choices_hint(dep, ids - {draft.raw.id}, "Steps"),
                    )
                )
            else:
                deps.add(dep)
        graph[draft.raw.id] = deps
        draft.values["dependencies"] = tuple(sorted(deps))
    diagnostics += _check_cycles(path, graph, {d.raw.id: d.raw for d in drafts})
    return diagnostics


def _check_cycles(
    path: Path, graph: dict[str, set[str]], steps: dict[str, RawStep]
) -> list[Diagnostic]:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle = list(reversed(exc.args[1]))  # graphlib lists the cycle against the edges
        first = steps[cycle[0]]
        return [
            Diagnostic(
                path,
                first.line,
                first.col,
                Code.CYCLE,
                "dependency cycle: " + " -> ".join(cycle) + " (each step waits for the next)",
                "a step cannot wait for itself: remove a 'Depends on' edge or a ${Var} "
                "that closes the loop",
            )
        ]
    return []


def _step_spec(draft: _StepDraft) -> StepSpec:
    agent = draft.agent
    assert agent is not None  # linking stops before this when an agent is missing
    return StepSpec(
        id=draft.raw.id,
        agent_name=agent.name,
        instruction=draft.raw.instruction,
        input_vars=tuple(draft.reads),
        output_vars=tuple(draft.writes),
        line=draft.raw.line,
        **draft.values,
    )


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


def _budget_from_yaml(value: Any) -> Budget | None:
    if value is None:
        return None
    if isinstance(value, str):
        return _budget_from_text(value)
    return Budget.model_validate(value)
