"""Typed, validated definitions: what the parsers produce and everything else consumes.

Specs are immutable values. They carry where they came from (``path`` and
``line``) so that later stages (the engine, the API, the web UI) can point a
user back at the file that caused a problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Protocol = Literal["a2a", "mcp"]
BalanceStrategy = Literal["round-robin", "least-loaded", "weighted"]
"""A wire protocol a definition may be served over (``expose:`` in its front matter)."""


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceLocation(_Spec):
    """A place in a definition file (1-based line and column)."""

    path: Path
    line: int = 1
    col: int = 1


class ComplexityRange(_Spec):
    """The task complexities (1–10) an agent is suited for; used by task assignment."""

    min: int = Field(default=1, ge=1, le=10)
    max: int = Field(default=10, ge=1, le=10)


class McpServerSpec(_Spec):
    """An MCP server an agent (or the project) uses as a tool source.

    Exactly one of ``command`` (stdio transport) or ``url`` (streamable HTTP) is set.
    ``url`` may list several endpoints of the same server; each call goes to one of
    them, chosen by ``balance`` (``round-robin``, ``least-loaded`` or ``weighted`` with
    ``weights``, one per URL; see :mod:`orchestra.tools.balancing`).
    """

    name: str
    command: list[str] | None = None
    url: str | list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    balance: str = "round-robin"
    weights: list[float] = Field(default_factory=list)

    def endpoints(self) -> list[str]:
        """The URLs of an HTTP server (one or several); empty for a stdio server."""
        if self.url is None:
            return []
        return [self.url] if isinstance(self.url, str) else list(self.url)


class Budget(_Spec):
    """Limits on what a run or step may spend; ``None`` means unlimited."""

    max_tokens: int | None = Field(default=None, ge=1)
    max_cost_usd: float | None = Field(default=None, ge=0)


class SkillSpec(_Spec):
    """A reusable block of instructions that agents include in their system prompt."""

    name: str
    description: str = ""
    body: str
    path: Path


class ContextQuerySpec(_Spec):
    """What an agent asks of the context store before each step (front matter ``context:``).

    ``query`` may name the step's variables (``"${Territory}"``), resolved from its
    inputs; an empty query takes the newest entries of ``job_type``.
    """

    job_type: str | None = Field(default=None, min_length=1, max_length=100)
    query: str = Field(default="", max_length=500)
    top_k: int = Field(default=5, ge=1, le=50)
    max_tokens: int = Field(default=1500, ge=50, le=20_000)
    """The budget of the inserted entries (about four characters a token)."""


class AgentSpec(_Spec):
    """An agent: a model, a system prompt, skills and the tools it may call."""

    name: str
    model: str = "default"
    system_prompt: str
    skills: tuple[SkillSpec, ...] = ()
    tools: tuple[str, ...] = ()
    temperature: float = Field(default=0.2, ge=0.0, le=2.0)
    description: str = ""
    capabilities: tuple[str, ...] = ()
    complexity: ComplexityRange = ComplexityRange()
    max_tasks: int = Field(default=1, ge=1, le=100)
    """How many tasks the agent holds at once (task assignment)."""
    weight: float = Field(default=1.0, gt=0, le=1000)
    """Its share under the ``weighted`` assignment strategy."""
    max_turns: int = Field(default=8, ge=1, le=200)
    tool_choice: tuple[str, ...] = ()
    """Per model call of a step's conversation: ``auto``, ``required`` (must call some
    tool), ``none`` (must answer) or a tool name (must call it). Calls past the end of
    the tuple are ``auto``."""
    mcp_servers: tuple[McpServerSpec, ...] = ()
    cache: bool = False
    budget: Budget | None = None
    expose: tuple[Protocol, ...] = ()
    """Protocols this agent is served over by ``orchestra serve`` (``a2a``)."""
    a2a: tuple[str, ...] = ()
    """URLs of a remote A2A agent (one, or several endpoints of it) that answers this
    agent's steps instead of a model."""
    a2a_balance: BalanceStrategy = "round-robin"
    """How a step picks one of several ``a2a`` endpoints."""
    a2a_weights: tuple[float, ...] = ()
    """Each endpoint's share under ``weighted`` (one per ``a2a`` URL)."""
    a2a_token: str | None = None
    """The bearer token for ``a2a`` (``os.environ/NAME`` names a secret)."""
    context: ContextQuerySpec | None = None
    path: Path


class WaitFor(_Spec):
    """What a ``* **Wait for:** topic=review.done`` step waits for: the first message on
    the bus whose topic ``topic`` (a pattern: ``*`` one word, ``#`` any) matches,
    published after the step first started; ``timeout_s`` bounds the wait."""

    topic: str = Field(min_length=1, max_length=200)
    timeout_s: float | None = Field(default=None, gt=0)


class StepSpec(_Spec):
    """One step of a workflow: an agent, an instruction, the variables it reads and writes.

    ``input_vars`` holds every variable the step reads, whether listed in its
    ``Input:`` bullet or referenced in the instruction; ``dependencies`` holds
    every step that must finish first, inferred from variables plus the
    explicit ``Depends on:`` edges.
    """

    id: str
    agent_name: str
    instruction: str
    input_vars: tuple[str, ...] = ()
    output_vars: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    retries: int = Field(default=0, ge=0, le=20)
    timeout_s: float | None = Field(default=None, gt=0)
    approval: bool = False
    when: str | None = None
    cache: bool | None = None
    budget: Budget | None = None
    remember: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
    """Store the step's outputs in the context store under this job type."""
    wait_for: WaitFor | None = None
    """Set for a step that waits for a message instead of calling a model."""
    line: int = 1


class InputSpec(_Spec):
    """A workflow input: required, or with a default."""

    name: str
    required: bool = False
    default: str | None = None
    description: str = ""


FailurePolicy = Literal["fail_fast", "continue"]


class WorkflowSpec(_Spec):
    """A validated workflow: an acyclic graph of steps over named variables.

    ``source_hash`` is the SHA-256 of the workflow file and every agent and
    skill file it uses, so a run can tell whether its definition changed.
    """

    name: str
    description: str = ""
    inputs: tuple[InputSpec, ...] = ()
    steps: tuple[StepSpec, ...]
    on_failure: FailurePolicy = "fail_fast"
    budget: Budget | None = None
    expose: tuple[Protocol, ...] = ()
    """Protocols this workflow is served over by ``orchestra serve`` / ``orchestra mcp``."""
    agents: dict[str, AgentSpec] = Field(default_factory=dict)
    path: Path | None = None
    """The workflow file, or None for one built from drafts (the planner, tasks)."""
    source_hash: str = ""

    def step(self, step_id: str) -> StepSpec:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def layers(self) -> list[list[str]]:
        """Steps grouped by depth: every step in layer N depends only on layers < N."""
        depth: dict[str, int] = {}
        remaining = {s.id: set(s.dependencies) for s in self.steps}
        layers: list[list[str]] = []
        while remaining:
            layer = sorted(sid for sid, deps in remaining.items() if deps <= depth.keys())
            if not layer:  # validated specs are acyclic; guard against hand-built ones
                raise ValueError(f"workflow {self.name!r} has a dependency cycle")
            for sid in layer:
                depth[sid] = len(layers)
                del remaining[sid]
            layers.append(layer)
        return layers

    def edges(self) -> list[tuple[str, str]]:
        """(from, to) pairs: ``to`` waits for ``from``."""
        return [(dep, s.id) for s in self.steps for dep in s.dependencies]
