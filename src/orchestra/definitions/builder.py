"""Building a :class:`WorkflowSpec` from step drafts, whatever wrote them.

The Markdown parser, the planner and tasks all describe a workflow the same way: a
list of :class:`StepDraft` (an id, an agent, an instruction, the variables it reads
and writes, explicit dependencies and typed options) inside a :class:`WorkflowDraft`.
:func:`build_workflow` resolves the agents, infers the dependency graph (a step that
reads ``${X}`` waits for the step that writes it), checks it as a whole (duplicate
ids, unknown steps, undefined variables, duplicate outputs, cycles) and returns the
spec, or raises :class:`DefinitionError` with every problem at once. Like
pydantic-graph's builder, it knows nothing of files: a draft's positions are where
its writer says it came from, and ``source`` (a file path or just a description such
as ``"planner"``) only names the origin in diagnostics.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from orchestra.definitions.diagnostics import (
    Code,
    DefinitionError,
    Diagnostic,
    choices_hint,
    did_you_mean,
)
from orchestra.definitions.fields import validation_diagnostics
from orchestra.definitions.specs import AgentSpec, Budget, InputSpec, StepSpec, WorkflowSpec

Position = tuple[int, int]
"""(line, column), 1-based, in whatever the draft came from."""

VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

STEP_OPTIONS = (
    "retries",
    "timeout_s",
    "approval",
    "when",
    "cache",
    "budget",
    "remember",
    "wait_for",
)
"""The typed options a step draft may set (see :class:`StepSpec`)."""


class AgentNames(Protocol):
    """Looks agents up by name: the project implements it; a plain mapping works too."""

    def agent_named(self, name: str) -> AgentSpec | None: ...

    def agent_names(self) -> list[str]: ...


@dataclass(slots=True)
class StepDraft:
    """One step before the workflow's graph is checked.

    ``reads``, ``writes`` and ``depends_on`` map each name to where it was written;
    a plain list of names is fine too (they are placed at the step's position).
    Variables the instruction or ``when`` mention are read as well.
    """

    id: str
    agent: AgentSpec | str | None
    """The agent, or its name (looked up in ``agents``); ``None`` is an error."""
    instruction: str
    reads: Mapping[str, Position] | Sequence[str] = ()
    writes: Mapping[str, Position] | Sequence[str] = ()
    depends_on: Mapping[str, Position] | Sequence[str] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    """Typed options (:data:`STEP_OPTIONS`), checked against :class:`StepSpec`."""
    line: int = 1
    col: int = 1
    option_positions: Mapping[str, Position] = field(default_factory=dict)
    option_labels: Mapping[str, str] = field(default_factory=dict)
    """What the writer calls an option (``timeout_s`` -> ``Timeout``), for messages."""
    agent_at: Position | None = None
    variable_positions: Mapping[str, Position] = field(default_factory=dict)
    """Where each ``${Var}`` of the instruction first appears."""
    agent_reported: bool = False
    """The writer already reported why ``agent`` is ``None`` (a broken file link)."""


@dataclass(slots=True)
class WorkflowDraft:
    """A whole workflow before it is checked: a header and its step drafts."""

    name: str
    steps: Sequence[StepDraft]
    description: str = ""
    inputs: Sequence[InputSpec] = ()
    on_failure: str = "fail_fast"
    budget: Budget | Mapping[str, Any] | None = None
    expose: Any = ()
    """Protocols to serve the workflow over; validated by WorkflowSpec."""
    source_hash: str = ""
    positions: Mapping[str, Position] = field(default_factory=dict)
    """Where header fields (``on_failure``, ``budget``...) were written."""
    hints: Mapping[Code, str] = field(default_factory=dict)
    """Writer-specific hints that replace the generic ones (the Markdown syntax to use);
    ``{var}`` and ``{guess}`` are filled in for undefined variables."""


def build_workflow(
    draft: WorkflowDraft,
    agents: Mapping[str, AgentSpec] | AgentNames,
    source: Path | str | None = None,
) -> WorkflowSpec:
    """The checked spec of ``draft``; raises :class:`DefinitionError` listing every problem."""
    spec, problems = check_workflow(draft, agents, source)
    if spec is None:
        raise DefinitionError(problems)
    return spec


def check_workflow(
    draft: WorkflowDraft,
    agents: Mapping[str, AgentSpec] | AgentNames,
    source: Path | str | None = None,
    known: Sequence[Diagnostic] = (),
) -> tuple[WorkflowSpec | None, list[Diagnostic]]:
    """Check ``draft``; the spec is None when any problem (or one in ``known``) was found.

    ``known`` are problems the writer already found (a Markdown file's shape); they come
    first in the result and keep the spec from being built.
    """
    where = source_path(source, draft.name)
    b = _Build(where, draft, _names(agents), list(known))
    steps = b.steps()
    b.check_graph(steps)
    if b.diagnostics:
        return None, b.diagnostics
    try:
        spec = WorkflowSpec(
            name=draft.name,
            description=draft.description,
            inputs=tuple(draft.inputs),
            steps=tuple(s.spec() for s in steps),
            on_failure=draft.on_failure,  # validated by WorkflowSpec
            budget=draft.budget,
            expose=draft.expose,
            agents={s.agent.name: s.agent for s in steps if s.agent},
            path=source if isinstance(source, Path) else None,
            source_hash=draft.source_hash,
        )
    except ValidationError as exc:
        return None, validation_diagnostics(exc, where, draft.positions)
    return spec, []


def source_path(source: Path | str | None, name: str) -> Path:
    """What diagnostics name as the origin: the file, or a description like ``<planner>``."""
    if isinstance(source, Path):
        return source
    return Path(f"<{source or f'workflow {name}'}>")


class _Names:
    def __init__(self, mapping: Mapping[str, AgentSpec]) -> None:
        self._mapping = mapping

    def agent_named(self, name: str) -> AgentSpec | None:
        return self._mapping.get(name)

    def agent_names(self) -> list[str]:
        return sorted(self._mapping)


def _names(agents: Mapping[str, AgentSpec] | AgentNames) -> AgentNames:
    return _Names(agents) if isinstance(agents, Mapping) else agents


def _located(names: Mapping[str, Position] | Sequence[str], at: Position) -> dict[str, Position]:
    if isinstance(names, Mapping):
        return dict(names)
    return dict.fromkeys(names, at)


@dataclass(slots=True)
class _Step:
    draft: StepDraft
    agent: AgentSpec | None
    reads: dict[str, Position]
    writes: dict[str, Position]
    explicit: dict[str, Position]
    values: dict[str, Any]

    def spec(self) -> StepSpec:
        assert self.agent is not None  # building stops before this when an agent is missing
        return StepSpec(
            id=self.draft.id,
            agent_name=self.agent.name,
            instruction=self.draft.instruction,
            input_vars=tuple(self.reads),
            output_vars=tuple(self.writes),
            line=self.draft.line,
            **self.values,
        )


class _Build:
    def __init__(
        self, path: Path, draft: WorkflowDraft, agents: AgentNames, known: list[Diagnostic]
    ) -> None:
        self.path = path
        self.draft = draft
        self.agents = agents
        self.diagnostics = known
        self.inputs = {i.name: i for i in draft.inputs}

    def problem(self, at: Position, code: Code, message: str, hint: str, **context: str) -> None:
        override = self.draft.hints.get(code)
        if override is not None:
            hint = override.format_map(context).strip()
        self.diagnostics.append(Diagnostic(self.path, at[0], at[1], code, message, hint))

    def steps(self) -> list[_Step]:
        seen: dict[str, int] = {}
        steps: list[_Step] = []
        for d in self.draft.steps:
            at = (d.line, d.col)
            if d.id in seen:
                self.problem(
                    at,
                    Code.DUPLICATE_STEP_ID,
                    f"step id '{d.id}' is already used on line {seen[d.id]}",
                    "give each step a unique id",
                )
                continue
            seen[d.id] = d.line
            steps.append(self.step(d))
        if not steps and not self.diagnostics:
            self.problem((1, 1), Code.NO_STEPS, "workflow has no steps", "add at least one step")
        return steps

    def step(self, d: StepDraft) -> _Step:
        at = (d.line, d.col)
        reads = _located(d.reads, at)
        for var, pos in d.variable_positions.items():
            reads.setdefault(var, pos)
        for match in VARIABLE.finditer(d.instruction):
            reads.setdefault(match.group(1), at)
        when = d.options.get("when")
        if isinstance(when, str):
            when_at = d.option_positions.get("when", at)
            for match in VARIABLE.finditer(when):
                reads.setdefault(match.group(1), when_at)
        step = _Step(
            d, self.agent(d), reads, _located(d.writes, at), _located(d.depends_on, at), {}
        )
        self.options(step)
        if not d.instruction.strip() and "wait_for" not in d.options:
            self.problem(
                at,
                Code.EMPTY_INSTRUCTION,
                f"step '{d.id}' has no instruction",
                "say what the agent should do in the step's instruction",
            )
        return step

    def agent(self, d: StepDraft) -> AgentSpec | None:
        if isinstance(d.agent, AgentSpec):
            return d.agent
        at = d.agent_at or (d.line, d.col)
        if d.agent is None:
            if not d.agent_reported:
                self.problem(
                    (d.line, d.col),
                    Code.MISSING_AGENT,
                    f"step '{d.id}' has no agent",
                    "name the agent that does this step",
                )
            return None
        name = d.agent.strip()
        spec = self.agents.agent_named(name)
        if spec is None:
            self.problem(
                at,
                Code.UNKNOWN_AGENT,
                f"unknown agent '{name}'",
                choices_hint(name, self.agents.agent_names(), "Agents in this project"),
            )
        return spec

    def options(self, step: _Step) -> None:
        d = step.draft
        at = (d.line, d.col)
        for key in d.options:
            if key not in STEP_OPTIONS:
                self.problem(
                    d.option_positions.get(key, at),
                    Code.UNKNOWN_FIELD,
                    f"unknown option '{key}' in step '{d.id}'",
                    f"{did_you_mean(key, STEP_OPTIONS)} Options: {', '.join(STEP_OPTIONS)}".strip(),
                )
        values = {k: v for k, v in d.options.items() if k in STEP_OPTIONS}
        try:  # check the typed values now, so their errors are reported with all others
            StepSpec.model_validate({"id": d.id, "agent_name": "-", "instruction": "-", **values})
        except ValidationError as exc:
            self.diagnostics += validation_diagnostics(
                exc, self.path, d.option_positions, at, d.option_labels
            )
            for error in exc.errors():
                values.pop(str(error["loc"][0]) if error["loc"] else "", None)
        step.values = values

    def check_graph(self, steps: list[_Step]) -> None:
        writer = self.writers(steps)
        known = sorted(set(self.inputs) | set(writer))
        ids = {s.draft.id for s in steps}
        graph: dict[str, set[str]] = {}
        for step in steps:
            sid = step.draft.id
            deps: set[str] = set()
            for var, at in step.reads.items():
                if var in self.inputs:
                    continue
                source = writer.get(var)
                if source is not None:
                    deps.add(source.draft.id)
                    continue
                guess = did_you_mean(var, known)
                self.problem(
                    at,
                    Code.UNDEFINED_VARIABLE,
                    f"variable ${{{var}}} is read by step '{sid}' "
                    "but no step writes it and it is not a workflow input",
                    f"{guess} Declare it as a workflow input, or make the step that "
                    f"produces it write ${{{var}}}".strip(),
                    guess=guess,
                    var=var,
                )
            for dep, at in step.explicit.items():
                if dep in ids:
                    deps.add(dep)
                    continue
                self.problem(
                    at,
                    Code.UNKNOWN_STEP,
                    f"step '{sid}' depends on unknown step '{dep}'",
                    choices_hint(dep, ids - {sid}, "Steps"),
                )
            graph[sid] = deps
            step.values["dependencies"] = tuple(sorted(deps))
        self.cycles(graph, {s.draft.id: s.draft for s in steps})

    def writers(self, steps: Iterable[_Step]) -> dict[str, _Step]:
        writer: dict[str, _Step] = {}
        for step in steps:
            for var, at in step.writes.items():
                if var in self.inputs:
                    self.problem(
                        at,
                        Code.DUPLICATE_OUTPUT,
                        f"output ${{{var}}} has the same name as a workflow input",
                        "rename the output, or remove the input",
                    )
                elif var in writer:
                    first = writer[var]
                    self.problem(
                        at,
                        Code.DUPLICATE_OUTPUT,
                        f"output ${{{var}}} is already written by step '{first.draft.id}' "
                        f"(line {first.writes[var][0]})",
                        "each variable has one writer: rename one of the outputs",
                    )
                else:
                    writer[var] = step
        return writer

    def cycles(self, graph: dict[str, set[str]], steps: dict[str, StepDraft]) -> None:
        try:
            graphlib.TopologicalSorter(graph).prepare()
        except graphlib.CycleError as exc:
            cycle = list(reversed(exc.args[1]))  # graphlib lists the cycle against the edges
            first = steps[cycle[0]]
            self.problem(
                (first.line, first.col),
                Code.CYCLE,
                "dependency cycle: " + " -> ".join(cycle) + " (each step waits for the next)",
                "a step cannot wait for itself: remove a dependency or a ${Var} "
                "that closes the loop",
            )
