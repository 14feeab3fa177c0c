"""Usage roll-ups and budgets.

Every call's :class:`~orchestra.llm.types.Usage` becomes a
:class:`UsageRecord` with the correlation ids of its request (``run_id``,
``step_id``, ``attempt``, ``agent`` in ``ChatRequest.metadata``).
:class:`RecordingGateway` hands each record to a :class:`UsageSink` before
the call returns (the store's sink commits it, so a step's calls are durable
before the step's own result is); :class:`UsageLedger` keeps records in memory
and sums them per run, step, agent, model or deployment; :class:`UsageReport`
is those roll-ups for one run, as ``orchestra runs show`` and the API render
them. :class:`BudgetedGateway` wraps any gateway and stops a run or step with
:class:`~orchestra.llm.errors.BudgetExceeded` once its token or cost budget is
spent.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from orchestra.llm.errors import BudgetExceeded, LLMError
from orchestra.llm.types import (
    ChatRequest,
    ChatResponse,
    ModelGateway,
    RestartCallback,
    TokenCallback,
    Usage,
)

Dimension = Literal["run", "step", "agent", "model", "deployment"]
_METADATA_KEY: dict[str, str] = {"run": "run_id", "step": "step_id", "agent": "agent"}


class UsageTotals(BaseModel):
    """Sums over a set of calls."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    retries: int = 0
    fallbacks: int = 0
    cached_calls: int = 0
    failed_calls: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, usage: Usage, *, failed: bool = False) -> None:
        self.calls += 1
        self.failed_calls += int(failed)
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cost_usd += usage.cost_usd
        self.latency_s += usage.latency_s
        self.retries += usage.retries
        self.fallbacks += usage.fallbacks
        self.cached_calls += int(usage.cached)

    @classmethod
    def of(cls, usages: Iterable[Usage]) -> UsageTotals:
        totals = cls()
        for usage in usages:
            totals.add(usage)
        return totals


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


class UsageLedger(BaseModel):
    """Usage records of a run (or any scope the caller chooses), summable by dimension."""

    records: list[UsageRecord] = Field(default_factory=list)

    def record(self, request: ChatRequest, usage: Usage) -> UsageRecord:
        entry = UsageRecord.of(request, usage)
        self.records.append(entry)
        return entry

    def total(self, *, where: dict[Dimension, str] | None = None) -> UsageTotals:
        """Totals over the records matching every ``dimension == value`` in ``where``."""
        conditions = (where or {}).items()
        totals = UsageTotals()
        for r in self.records:
            if all(r.key(d) == v for d, v in conditions):
                totals.add(r.usage, failed=r.error is not None)
        return totals

    def by(self, dimension: Dimension) -> dict[str, UsageTotals]:
        """Totals per value of ``dimension`` (e.g. per step), in first-seen order."""
        result: dict[str, UsageTotals] = {}
        for r in self.records:
            result.setdefault(r.key(dimension), UsageTotals()).add(
                r.usage, failed=r.error is not None
            )
        return result

    def report(self) -> UsageReport:
        """Every roll-up of these records at once."""
        return UsageReport(
            total=self.total(),
            by_step=self.by("step"),
            by_agent=self.by("agent"),
            by_model=self.by("model"),
            by_deployment=self.by("deployment"),
            calls=list(self.records),
        )

    async def record_call(self, record: UsageRecord) -> None:
        """:class:`UsageSink`: keep ``record`` in memory."""
        self.records.append(record)


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
    """Where :class:`RecordingGateway` puts each call's record (the store, a ledger)."""

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


class Budget(BaseModel):
    """A limit on the calls of one run, step or agent (``scope`` = ``key`` in request metadata)."""

    scope: Literal["run", "step", "agent"]
    key: str
    max_tokens: int | None = None
    max_cost_usd: float | None = None

    def applies_to(self, request: ChatRequest) -> bool:
        return request.metadata.get(_METADATA_KEY[self.scope]) == self.key

    def check(self, ledger: UsageLedger) -> None:
        """Raise :class:`BudgetExceeded` when the scope's spending is over a limit."""
        totals = ledger.total(where={self.scope: self.key})
        label = f"{self.scope} {self.key!r}"
        if self.max_tokens is not None and totals.total_tokens > self.max_tokens:
            raise BudgetExceeded(label, "tokens", self.max_tokens, totals.total_tokens)
        if self.max_cost_usd is not None and totals.cost_usd > self.max_cost_usd:
            raise BudgetExceeded(label, "cost", self.max_cost_usd, totals.cost_usd)


class BudgetedGateway:
    """A :class:`ModelGateway` that records every call and enforces budgets.

    A call is refused up front when a budget is already spent; the call that
    crosses a limit is recorded (it was paid for) and then raises.
    """

    def __init__(
        self, inner: ModelGateway, ledger: UsageLedger, budgets: Sequence[Budget] = ()
    ) -> None:
        self.inner = inner
        self.ledger = ledger
        self.budgets = list(budgets)

    async def chat(
        self,
        request: ChatRequest,
        on_token: TokenCallback | None = None,
        on_restart: RestartCallback | None = None,
    ) -> ChatResponse:
        budgets = [b for b in self.budgets if b.applies_to(request)]
        for budget in budgets:
            budget.check(self.ledger)
        response = await self.inner.chat(request, on_token, on_restart)
        self.ledger.record(request, response.usage)
        for budget in budgets:
            budget.check(self.ledger)
        return response
