"""Request and response bodies of the task and agent routes (``/tasks``, ``/agents``).

Requests reuse the domain's own models (a task draft is validated by ``TaskDraft``,
one JSON schema for CLI and API); responses mirror the stored rows.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from orchestra.tools.versions import VersionPinError, parse_pin

TaskStatusName = Literal[
    "queued", "assigned", "design", "build", "test", "review", "complete", "failed", "cancelled"
]
AgentStateName = Literal["idle", "busy", "paused", "error", "offline", "retired"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Task(_Out):
    id: str
    title: str
    description: str
    complexity: int
    capabilities: list[str]
    priority: int
    workflow: str | None
    inputs: dict[str, str]
    idempotency_key: str | None
    status: TaskStatusName
    agent: str | None
    run_id: str | None
    attempts: int
    max_attempts: int
    wait_reason: str | None = Field(description="Why a queued task is not assigned yet.")
    error: dict[str, Any] | None
    created_by: str
    created_at: float
    updated_at: float
    assigned_at: float | None
    finished_at: float | None
    assignee: str | None = Field(
        default=None, description="The one agent that may take it (delegated by name)."
    )
    parent_run_id: str | None = Field(
        default=None, description="The run whose step delegated it (`delegate` tool)."
    )
    parent_step_id: str | None = Field(default=None, description="That step's id.")


class TaskUpdate(_Out):
    id: int
    at: float
    kind: str
    source: TaskStatusName | None
    target: TaskStatusName | None
    note: str
    by: str


class TaskDetail(Task):
    updates: list[TaskUpdate]


class TaskFile(_Out):
    path: str = Field(description="Relative to the task's workspace.")
    size: int


class TaskFiles(_Out):
    workspace: str = Field(description="The workspace folder, relative to the workspaces root.")
    files: list[TaskFile]


class TaskPage(_Out):
    items: list[Task]


class Agent(_Out):
    name: str
    description: str
    capabilities: list[str]
    complexity: tuple[int, int]
    max_tasks: int
    weight: float
    model: str
    source: str = Field(description="The agent file (project-relative), or `api`.")
    state: AgentStateName
    active_tasks: int
    consecutive_failures: int
    last_active_at: float | None
    heartbeat_at: float | None
    registered_at: float
    updated_at: float


class AgentTransition(_Out):
    at: float
    source: AgentStateName | None
    target: AgentStateName
    by: str
    reason: str


class AgentSession(_Out):
    id: str
    task_id: str
    started_at: float
    ended_at: float | None
    outcome: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class AgentDetail(Agent):
    transitions: list[AgentTransition]
    sessions: list[AgentSession]
    succeeded: int
    ended: int
    current_tasks: list[str]


class AgentPage(_Out):
    items: list[Agent]


class RegisterAgent(BaseModel):
    """An agent with no file: what its front matter and body would say."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")
    instructions: str = Field(min_length=1, max_length=50_000, description="Its system prompt.")
    model: str = Field(default="default", pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199}$")
    description: str = Field(default="", max_length=2000)
    capabilities: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]] = Field(
        default_factory=list, max_length=20
    )
    complexity: tuple[Annotated[int, Field(ge=1, le=10)], Annotated[int, Field(ge=1, le=10)]] = (
        1,
        10,
    )
    max_tasks: int = Field(default=1, ge=1, le=100)
    weight: float = Field(default=1.0, ge=0.001, le=1000)
    tools: list[
        Annotated[str, Field(pattern=r"^[A-Za-z0-9_.*-]{1,64}(@[0-9A-Za-z^~<>=!.,* ]{1,40})?$")]
    ] = Field(default_factory=list, max_length=50)
    """Tool name patterns, optionally pinned to a version range (``files.read@^1``)."""

    @field_validator("tools")
    @classmethod
    def _pins_parse(cls, tools: list[str]) -> list[str]:
        for entry in tools:
            try:
                parse_pin(entry)
            except VersionPinError as exc:
                raise ValueError(f"tool {entry!r}: {exc}") from exc
        return tools

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.complexity[0] > self.complexity[1]:
            raise ValueError("complexity: the minimum must not exceed the maximum")
        return self


class AgentMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=500)
