"""The one documented shape of each event type's ``content`` (docs/api.md, "Events").

Clients (the web UI, the CLI's follow mode, integrations) parse events by
``type``; a producer that drifts (a plain string where an error object is
expected) breaks them silently. These models pin the shapes, and the tests
validate every event of representative runs against them. Fields a client
does not know must be ignored, so models allow extra fields only where
producers add their own (``log`` from tool plugins, ``error`` data).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from orchestra.engine.events import EventType, ExecutionEvent

_STRICT = ConfigDict(extra="forbid", strict=True)
_OPEN = ConfigDict(extra="allow", strict=True)


class ErrorShape(BaseModel):
    """Every error in an event (``engine.errors.error_data``), plus the error's own data."""

    model_config = _OPEN
    type: str
    code: str
    message: str
    retryable: bool


class Usage(BaseModel):
    model_config = _STRICT
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int | None = None
    cost_usd: float | int
    calls: int


class RunStarted(BaseModel):
    model_config = _STRICT
    workflow: str
    source_hash: str
    inputs: dict[str, str]


class StepStarted(BaseModel):
    model_config = _OPEN  # the claimer may add context (e.g. the agent)
    attempt: int
    agent: str | None = None
    interrupted_attempt: int | None = None


class Log(BaseModel):
    model_config = _OPEN  # plugins' own events arrive as logs with their payload
    message: str | None = None
    level: Literal["debug", "info", "warning", "error"] | None = None
    kind: str | None = None


class AgentThought(BaseModel):
    model_config = _STRICT
    text: str
    agent: str | None = None
    model: str | None = None


class Token(BaseModel):
    model_config = _STRICT
    text: str
    restart: int | None = None


class ToolCall(BaseModel):
    model_config = _STRICT
    tool: str
    arguments: Any
    call_id: str | None


class ToolResult(BaseModel):
    model_config = _STRICT
    tool: str
    call_id: str | None
    status: str
    result: Any
    error: Any
    duration_ms: float | None = None
    """How long the call took (per-tool latency in ``orchestra tools stats`` and /metrics)."""


class StepSucceeded(BaseModel):
    model_config = _STRICT
    status: Literal["succeeded"]
    attempt: int
    outputs: dict[str, str]
    usage: Usage


class StepSkipped(BaseModel):
    model_config = _STRICT
    status: Literal["skipped"]
    reason: str


class StepFailedShape(BaseModel):
    """A failed step, a rejected approval included: ``error`` is always an object."""

    model_config = _STRICT
    status: Literal["failed"]
    error: ErrorShape
    will_retry: bool | None = None
    attempt: int | None = None


class StepCancelled(BaseModel):
    model_config = _STRICT
    status: Literal["cancelled"]
    reason: str | None = None
    attempt: int | None = None


class ApprovalRequested(BaseModel):
    model_config = _STRICT
    hint: str


class RunFinished(BaseModel):
    model_config = _STRICT
    status: Literal["succeeded", "failed", "cancelled"]
    usage: Usage
    failed_steps: list[str] | None = None
    error: ErrorShape | None = None


class ErrorEvent(ErrorShape):
    """A failure that did not end its step: a retry follows (``retry_in_s``) or the run stops."""

    attempt: int | None = None
    retry_in_s: float | int | None = None


_StepComplete = Annotated[StepSucceeded | StepSkipped, Field(discriminator="status")]
_StepFailed = Annotated[StepFailedShape | StepCancelled, Field(discriminator="status")]

CONTENT: dict[EventType, TypeAdapter[Any]] = {
    EventType.RUN_STARTED: TypeAdapter(RunStarted),
    EventType.STEP_STARTED: TypeAdapter(StepStarted),
    EventType.LOG: TypeAdapter(Log),
    EventType.AGENT_THOUGHT: TypeAdapter(AgentThought),
    EventType.TOKEN: TypeAdapter(Token),
    EventType.TOOL_CALL: TypeAdapter(ToolCall),
    EventType.TOOL_RESULT: TypeAdapter(ToolResult),
    EventType.STEP_COMPLETE: TypeAdapter(_StepComplete),
    EventType.STEP_FAILED: TypeAdapter(_StepFailed),
    EventType.APPROVAL_REQUESTED: TypeAdapter(ApprovalRequested),
    EventType.RUN_FINISHED: TypeAdapter(RunFinished),
    EventType.ERROR: TypeAdapter(ErrorEvent),
}
"""The content model of every event type (a test checks none is missing)."""

STEP_EVENTS = frozenset(
    {
        EventType.STEP_STARTED,
        EventType.AGENT_THOUGHT,
        EventType.TOKEN,
        EventType.TOOL_CALL,
        EventType.TOOL_RESULT,
        EventType.STEP_COMPLETE,
        EventType.STEP_FAILED,
        EventType.APPROVAL_REQUESTED,
    }
)
"""Types that always belong to a step (``step_id`` set); run-level ones have none."""
RUN_EVENTS = frozenset({EventType.RUN_STARTED, EventType.RUN_FINISHED})


def validate_event(event: ExecutionEvent) -> None:
    """Raise ``ValueError`` (pydantic's ``ValidationError``) if ``event`` is off its shape."""
    if event.seq < 1:
        raise ValueError(f"event seq must be >= 1, got {event.seq}")
    if event.type in STEP_EVENTS and not event.step_id:
        raise ValueError(f"{event.type.value} event #{event.seq} has no step_id")
    if event.type in RUN_EVENTS and event.step_id:
        raise ValueError(f"{event.type.value} event #{event.seq} has step_id {event.step_id!r}")
    CONTENT[event.type].validate_python(event.content)
