"""Usage records of real gateway calls to the scripted model, and the totals they sum into."""

from __future__ import annotations

import pytest

from orchestra.llm.config import GatewayConfig
from orchestra.llm.errors import RateLimited
from orchestra.llm.gateway import build_gateway
from orchestra.llm.scripted import Reply
from orchestra.llm.types import ChatMessage, ChatRequest
from orchestra.llm.usage import RecordingGateway, UsageRecord
from orchestra.usage import UsageTotals


def ask(text: str, **metadata: str) -> ChatRequest:
    return ChatRequest(
        model="scripted/echo", messages=[ChatMessage(role="user", content=text)], metadata=metadata
    )


class ListSink:
    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    async def record_call(self, record: UsageRecord) -> None:
        self.records.append(record)


def test_totals_add_every_field_and_store_the_step_fields() -> None:
    one = UsageTotals(calls=1, prompt_tokens=1, completion_tokens=2, cost_usd=0.5, retries=1)
    two = UsageTotals(calls=1, prompt_tokens=3, completion_tokens=4, fallbacks=1, cached_calls=1)
    totals = one + two
    assert (totals.calls, totals.total_tokens, totals.cost_usd) == (2, 10, 0.5)
    assert (totals.retries, totals.fallbacks, totals.cached_calls) == (1, 1, 1)
    assert UsageTotals.from_json(totals.to_json()) == UsageTotals(
        calls=2, prompt_tokens=4, completion_tokens=6, cost_usd=0.5
    )


async def test_recording_gateway_hands_every_call_to_its_sink_failed_ones_too() -> None:
    gw = build_gateway(GatewayConfig(cache="off", num_retries=0))
    gw.scripts.register("flaky", [Reply(fail="rate_limit", retry_after=1), "fine"])
    sink = ListSink()
    recorded = RecordingGateway(gw, sink)
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
    failed, ok = sink.records
    assert (failed.error, failed.attempt, failed.agent) == ("RateLimited", 2, "writer")
    assert failed.requested_model == "scripted/flaky"
    assert failed.usage.total_tokens == 0
    assert ok.error is None and ok.usage.deployment.startswith("scripted/flaky")
    assert (ok.key("step"), ok.key("agent"), ok.key("run")) == ("s", "writer", "r")
