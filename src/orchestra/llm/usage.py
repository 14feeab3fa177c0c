"""Usage records and roll-ups.

Every call's :class:`~orchestra.llm.types.Usage` becomes a
:class:`UsageRecord` with the correlation ids of its request (``run_id``,
``step_id``, ``attempt``, ``agent`` in ``ChatRequest.metadata``).
:class:`RecordingGateway` hands each record to a :class:`UsageSink` before
the call returns (the store's sink commits it, so a step's calls are durable
before the step's own result is); :class:`UsageReport` is the roll-ups of one run's records (per step, agent,
model, deployment), as ``orchestra runs show`` and the API render them.
Budgets are not the gateway's business: the step runner enforces a step's
(or its agent's) ``budget:``, the engine the workflow's, from what steps report.
"""

from __future__ import annotations

import time
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from orchestra.llm.errors import LLMError
from orchestra.llm.types import (
    ChatRequest,
    ChatResponse,
    ModelGateway,
    RestartCallback,
    TokenCallback,
    Usage,
)
from orchestra.usage import UsageTotals as UsageTotals  # re-exported: part of the contract

Dimension = Literal["run", "step", "agent", "model", "deployment"]
_METADATA_KEY: dict[str, str] = {"run": "run_id", "step": "step_id", "agent": "agent"}


class UsageRecord(BaseModel):
    """One call: its usage, who made it, and the error type when it failed."""

    usage: Usage
    run_id: str = ""
    step_id: str = ""
    attempt: int | None = None
    agent: str = ""
    requested_model: str = ""
    error: str | None = None
    """The :mod:`orchestra.llm.errors` class name of a call that failed, else None."""
    created_at: float = Field(default_factory=time.time)

    @classmethod
    def of(cls, request: ChatRequest, usage: Usage, *, error: str | None = None) -> UsageRecord:
        meta = request.metadata
        attempt = meta.get("attempt", "")
        return cls(
            usage=usage,
            run_id=meta.get("run_id", ""),
            step_id=meta.get("step_id", ""),
            attempt=int(attempt) if attempt.isdigit() else None,
            agent=meta.get("agent", ""),
            requested_model=request.model,
            error=error,
        )

    def key(self, dimension: Dimension) -> str:
        if dimension == "model":
            return self.usage.model or self.requested_model
        if dimension == "deployment":
            return self.usage.deployment
        return str(getattr(self, _METADATA_KEY[dimension]))


class UsageReport(BaseModel):
    """A run's usage: the total, roll-ups per step, agent, model and deployment, every call."""

    total: UsageTotals = Field(default_factory=UsageTotals)
    by_step: dict[str, UsageTotals] = Field(default_factory=dict)
    by_agent: dict[str, UsageTotals] = Field(default_factory=dict)
    by_model: dict[str, UsageTotals] = Field(default_factory=dict)
    """Keyed by the model that answered (the requested one when none did)."""
    by_deployment: dict[str, UsageTotals] = Field(default_factory=dict)
    calls: list[UsageRecord] = Field(default_factory=list)


class UsageSink(Protocol):
    """Where :class:`RecordingGateway` puts each call's record (the store's usage table)."""

    async def record_call(self, record: UsageRecord) -> None: ...


class RecordingGateway:
    """A :class:`ModelGateway` that hands every call's :class:`UsageRecord` to a sink.

    The record is written before ``chat`` returns or raises, so whoever awaits
    the call (a step) can rely on it being stored. Failed calls are recorded
    too, with their error type and whatever usage the gateway attached to the
    error (tokens of answers that were refused, retries, fallbacks).
    """

    def __init__(self, inner: ModelGateway, sink: UsageSink) -> None:
        self.inner = inner
        self.sink = sink

    async def chat(
        self,
        request: ChatRequest,
        on_token: TokenCallback | None = None,
        on_restart: RestartCallback | None = None,
    ) -> ChatResponse:
        try:
            response = await self.inner.chat(request, on_token, on_restart)
        except LLMError as exc:
            usage = exc.usage if exc.usage is not None else Usage()
            await self.sink.record_call(UsageRecord.of(request, usage, error=type(exc).__name__))
            raise
        await self.sink.record_call(UsageRecord.of(request, response.usage))
        return response
