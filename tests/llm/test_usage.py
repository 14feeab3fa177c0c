"""Usage roll-ups and budgets, fed by real gateway calls to the scripted model."""

from __future__ import annotations

import pytest

from orchestra.llm.config import GatewayConfig
from orchestra.llm.errors import BudgetExceeded
from orchestra.llm.gateway import build_gateway
from orchestra.llm.types import ChatMessage, ChatRequest, Usage
from orchestra.llm.usage import Budget, BudgetedGateway, UsageLedger, UsageTotals


def ask(text: str, **metadata: str) -> ChatRequest:
    return ChatRequest(
        model="scripted/echo", messages=[ChatMessage(role="user", content=text)], metadata=metadata
    )


async def test_ledger_rolls_up_per_step_run_agent_and_model() -> None:
    gw = build_gateway(GatewayConfig(cache="off"))
    ledger = UsageLedger()
    metered = BudgetedGateway(gw, ledger)
    try:
        await metered.chat(ask("one two", run_id="r1", step_id="a", agent="analyst"))
        await metered.chat(ask("three", run_id="r1", step_id="b", agent="writer"))
        await metered.chat(ask("four five six", run_id="r2", step_id="a", agent="analyst"))
    finally:
        await gw.close()
    by_step = ledger.by("step")
    assert by_step["a"].calls == 2 and by_step["b"].calls == 1
    run1 = ledger.total(where={"run": "r1"})
    assert run1.calls == 2
    assert run1.prompt_tokens == 3  # "one two" + "three"
    assert run1.completion_tokens == 3 + 2  # "echo: one two" + "echo: three"
    assert ledger.by("agent")["analyst"].prompt_tokens == 5
    assert set(ledger.by("model")) == {"scripted/echo"}
    assert ledger.total(where={"run": "r1", "step": "b"}).calls == 1


async def test_token_budget_stops_the_run_with_a_clear_error() -> None:
    gw = build_gateway(GatewayConfig(cache="off"))
    ledger = UsageLedger()
    metered = BudgetedGateway(gw, ledger, [Budget(scope="run", key="r1", max_tokens=6)])
    try:
        await metered.chat(ask("a b", run_id="r1"))  # 2 + 3 = 5 tokens
        with pytest.raises(BudgetExceeded) as caught:
            await metered.chat(ask("c", run_id="r1"))  # 1 + 2 more: 8 > 6
        with pytest.raises(BudgetExceeded):
            await metered.chat(ask("d", run_id="r1"))  # refused before calling
        other = await metered.chat(ask("e", run_id="r2"))  # another run is unaffected
    finally:
        await gw.close()
    assert caught.value.limit == 6 and caught.value.spent == 8
    assert not caught.value.retryable
    assert "Raise the tokens budget" in str(caught.value)
    assert len(ledger.records) == 3  # the crossing call is recorded, the refused one is not
    assert other.content == "echo: e"


def test_cost_budget_checks_cost() -> None:
    ledger = UsageLedger()
    request = ask("x", step_id="s")
    ledger.record(request, Usage(prompt_tokens=1, cost_usd=0.02))
    Budget(scope="step", key="s", max_cost_usd=0.05).check(ledger)
    ledger.record(request, Usage(prompt_tokens=1, cost_usd=0.04))
    with pytest.raises(BudgetExceeded, match="cost"):
        Budget(scope="step", key="s", max_cost_usd=0.05).check(ledger)


def test_totals_sum_every_field() -> None:
    totals = UsageTotals.of(
        [
            Usage(prompt_tokens=1, completion_tokens=2, cost_usd=0.5, retries=1, latency_s=1.0),
            Usage(prompt_tokens=3, completion_tokens=4, fallbacks=1, cached=True, latency_s=0.5),
        ]
    )
    assert (totals.calls, totals.total_tokens, totals.cost_usd) == (2, 10, 0.5)
    assert (totals.retries, totals.fallbacks, totals.cached_calls) == (1, 1, 1)
    assert totals.latency_s == 1.5


async def test_recording_gateway_hands_every_call_to_its_sink_failed_ones_too() -> None:
    from orchestra.llm.errors import RateLimited
    from orchestra.llm.scripted import Reply
    from orchestra.llm.usage import RecordingGateway

    gw = build_gateway(GatewayConfig(cache="off", num_retries=0))
    gw.scripts.register("flaky", [Reply(fail="rate_limit", retry_after=1), "fine"])
    ledger = UsageLedger()
    recorded = RecordingGateway(gw, ledger)
    meta = {"run_id": "r", "step_id": "s", "attempt": "2", "agent": "writer"}
    try:
        with pytest.raises(RateLimited):
            await recorded.chat(ask("x", **meta).model_copy(update={"model": "scripted/flaky"}))
        answer = await recorded.chat(
            ask("x", **meta).model_copy(update={"model": "scripted/flaky"})
        )
    finally:
        await gw.close()
    assert answer.content == "fine"
    failed, ok = ledger.records
    assert (failed.error, failed.attempt, failed.agent) == ("RateLimited", 2, "writer")
    assert failed.requested_model == "scripted/flaky"
    assert failed.usage.total_tokens == 0
    assert ok.error is None and ok.usage.deployment.startswith("scripted/flaky")
    report = ledger.report()
    assert report.total.calls == 2 and report.total.failed_calls == 1
    assert report.by_step["s"].calls == 2
    assert report.by_agent["writer"].failed_calls == 1
