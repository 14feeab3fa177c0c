"""The model gateway's contract: what callers send, what they get back.

Everything above the gateway (the agent loop, the planner, the engine) speaks
only these types, so nothing there knows which provider or deployment answered.
Messages and tool schemas use the OpenAI chat format that LiteLLM speaks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]


class ToolCall(BaseModel):
    """A tool call the model asked for. ``arguments`` is the raw JSON text the model wrote."""

    id: str
    name: str
    arguments: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    content: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class ToolSchema(BaseModel):
    """A tool offered to the model: name, description and JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


class ChatRequest(BaseModel):
    """One model call. ``model`` is an alias from the model list or a LiteLLM model string."""

    model: str
    messages: list[ChatMessage]
    tools: list[ToolSchema] = Field(default_factory=list)
    tool_choice: str | None = None
    """With ``tools``: ``auto`` (the default), ``required`` (call some tool), ``none`` (answer
    without tools) or a tool name (call that tool). LiteLLM/OpenAI semantics."""
    temperature: float | None = None
    max_tokens: int | None = None
    response_schema: dict[str, Any] | None = None
    """JSON schema the answer must follow (structured output), or None for free text."""
    stream: bool = False
    cache: bool = False
    timeout_s: float | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    """Correlation ids (run_id, step_id, agent) for logs and usage records."""


class FailedAttempt(BaseModel):
    """One try of a call that did not give the answer: which deployment, why, how long."""

    deployment: str
    """``alias[model@api_base]``, or the alias alone when no deployment could be picked
    (every one cooling down)."""
    error: str
    """The :mod:`orchestra.llm.errors` class name (``ProviderUnavailable``, ``EmptyAnswer`` …)."""
    latency_s: float
    message: str = ""
    """The error's first line, cut to 300 characters."""


class Usage(BaseModel):
    """What one call cost and how it was served."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    model: str = ""
    deployment: str = ""
    retries: int = 0
    fallbacks: int = 0
    cached: bool = False
    failed_attempts: list[FailedAttempt] = Field(default_factory=list)
    """Every try before the one that answered (or every try, for a call that failed), in
    order; ``retries`` + ``fallbacks`` tries were made after the first."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ChatResponse(BaseModel):
    content: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)


TokenCallback = Callable[[str], Awaitable[None]]
"""Receives streamed text deltas, in order, while a streaming call is in flight."""


class StreamRestart(BaseModel):
    """The tokens streamed so far are void: the gateway asks again and streams anew.

    Sent when a stream broke midway or its answer was malformed after tokens had
    been handed to ``on_token``; the tokens that follow replace those before.
    """

    restart: int
    """1 for the first restart of this call, 2 for the second …"""
    reason: str
    discarded_chars: int
    """How many characters of streamed text the restart discards."""
    model: str
    """The alias asked next (the same one on a retry, the next fallback otherwise)."""


RestartCallback = Callable[[StreamRestart], Awaitable[None]]


class ModelGateway(Protocol):
    """What the agent loop needs from the gateway."""

    async def chat(
        self,
        request: ChatRequest,
        on_token: TokenCallback | None = None,
        on_restart: RestartCallback | None = None,
    ) -> ChatResponse: ...
