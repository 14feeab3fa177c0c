"""Request and response bodies of API v1: the pydantic contract of docs/api.md.

Times are UNIX epoch seconds (floats), as the store keeps them and as events
carry them. Free-form maps (outputs, event content, details) stay ``dict``.

Every string a client sends is :data:`Text`: JSON may spell a lone surrogate
(``"\\ud800"``) that no database can store, so it is refused here, at the edge,
with a 422 naming the field, instead of failing in the store as a 500.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

MAX_SEQ = 2**63 - 1
"""The largest event ``seq`` (and any integer) a database column can hold."""


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"text holds a lone surrogate at position {exc.start}; send valid Unicode (UTF-8)"
        ) from exc
    return value


Text = Annotated[str, AfterValidator(_encodable)]
"""A string from a client: any Unicode text that UTF-8 can encode."""

RunStatusName = Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled"]
StepStatusName = Literal["pending", "running", "succeeded", "failed", "skipped", "cancelled"]
RoleName = Literal["viewer", "operator", "admin"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class Status(BaseModel):
    status: Literal["ok"] = "ok"


class Me(BaseModel):
    key_id: str
    name: str
    role: RoleName


# ---------------------------------------------------------------- workflows


class Input(BaseModel):
    name: str
    required: bool
    default: str | None
    description: str


class WorkflowSummary(BaseModel):
    name: str
    description: str
    steps: int
    inputs: list[Input]


class WorkflowStep(BaseModel):
    id: str
    agent: str
    model: str | None
    inputs: list[str]
    outputs: list[str]
    dependencies: list[str]
    retries: int
    timeout_s: float | None
    approval: bool
    when: str | None
    line: int


class Workflow(BaseModel):
    name: str
    description: str
    path: str
    source_hash: str
    on_failure: str
    inputs: list[Input]
    steps: list[WorkflowStep]
    layers: list[list[str]]
    edges: list[list[str]]
    outputs: list[str]
    source: str = Field(default="", description="The workflow file's Markdown, read-only.")


class ValidateRequest(_Body):
    filename: Text = Field(min_length=1, max_length=255, examples=["demo.workflow.md"])
    content: Text = Field(max_length=500_000)


class Diagnostic(BaseModel):
    path: str
    line: int
    col: int
    code: str
    severity: str
    message: str
    hint: str


class ValidateResult(BaseModel):
    ok: bool
    diagnostics: list[Diagnostic]


# ------------------------------------------------------------------- agents


class Agent(BaseModel):
    name: str
    model: str
    description: str
    tools: list[str]
    skills: list[str]
    capabilities: list[str]
    state: Literal["idle", "active", "error"]
    path: str


# --------------------------------------------------------------------- runs


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float
    calls: int


class RunSummary(BaseModel):
    id: str
    workflow: str
    status: RunStatusName
    created_at: float
    updated_at: float
    finished_at: float | None
    duration_s: float | None
    usage: Usage


class RunError(BaseModel):
    code: str
    message: str


class Approval(BaseModel):
    requested_at: float
    decision: Literal["approved", "rejected"] | None
    decided_by: str | None
    reason: str | None


class RunStep(BaseModel):
    id: str
    status: StepStatusName
    attempt: int
    outputs: dict[str, str]
    usage: Usage
    error: dict[str, Any] | None
    started_at: float | None
    finished_at: float | None
    approval: Approval | None


class Run(RunSummary):
    inputs: dict[str, str]
    outputs: dict[str, str]
    error: RunError | None
    source_hash: str
    steps: list[RunStep]


class StartRun(_Body):
    workflow: Text = Field(min_length=1, max_length=200)
    inputs: dict[Text, Text] = Field(default_factory=dict)


class RunPage(BaseModel):
    items: list[RunSummary]
    next_cursor: str | None


class Decision(_Body):
    reason: Text = Field(default="", max_length=2000)


class Event(BaseModel):
    type: str
    timestamp: float
    run_id: str
    step_id: str | None
    seq: int
    content: dict[str, Any]


class EventPage(BaseModel):
    items: list[Event]
    last_seq: int


class UsageRollup(BaseModel):
    """Sums over a set of model calls (``calls`` counts failed ones too)."""

    calls: int
    failed_calls: int
    cached_calls: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float
    latency_s: float = Field(description="Sum of the calls' latencies.")
    retries: int
    fallbacks: int


class UsageGroup(UsageRollup):
    key: str = Field(description="The step id, agent name, model or deployment summed over.")


class FailedModelAttempt(BaseModel):
    """One try of a model call that did not answer."""

    deployment: str = Field(description="alias[model@api_base] tried, or the alias alone.")
    error: str = Field(description="Error type of the try (ProviderUnavailable, EmptyAnswer …).")
    latency_s: float
    message: str


class ModelCall(BaseModel):
    """One call through the model gateway."""

    step_id: str | None
    attempt: int | None
    agent: str
    requested_model: str = Field(description="The alias or model string the agent asked for.")
    model: str = Field(description="The model that answered ('' when none did).")
    deployment: str = Field(description="The deployment that answered: alias[model@api_base].")
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_s: float
    retries: int
    fallbacks: int
    cached: bool
    error: str | None = Field(description="Error type of a call that failed, else null.")
    created_at: float
    failed_attempts: list[FailedModelAttempt] = Field(
        description="Every try that did not answer, in order (retries and fallbacks)."
    )


class RunUsage(BaseModel):
    run_id: str
    total: UsageRollup
    by_step: list[UsageGroup]
    by_agent: list[UsageGroup]
    by_model: list[UsageGroup]
    by_deployment: list[UsageGroup]
    calls: list[ModelCall]


# ------------------------------------------------------------------- models


class ModelAlias(BaseModel):
    alias: str
    deployments: list[dict[str, Any]]
    alias_of: str | None = Field(
        default=None,
        description="For `default` when the model list does not name it: what it stands for "
        "(`[models].default`).",
    )


class ProbeResult(BaseModel):
    ok: bool
    latency_s: float | None
    usage: dict[str, Any] | None
    error: str | None


# --------------------------------------------------------------- keys, audit


class CreateKey(_Body):
    name: Text = Field(
        min_length=1,
        max_length=100,
        pattern=r"\w",
        description="Who or what uses the key; at least one letter or digit.",
        examples=["ci"],
    )
    role: RoleName


class Key(BaseModel):
    id: str
    name: str
    role: RoleName
    created_at: float
    last_used_at: float | None
    revoked_at: float | None


class CreatedKey(Key):
    key: str = Field(description="The secret. Shown in this answer only; store it now.")


class AuditEntry(BaseModel):
    at: float
    key_id: str
    action: str
    target: str
    details: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None
