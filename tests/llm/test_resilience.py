"""Misbehaving model servers: each failure becomes a retry, a fallback or a clear error.

Every server here is a real OpenAI-compatible HTTP server on 127.0.0.1
(``fake_openai.FakeOpenAI``); LiteLLM is not patched.
"""

from __future__ import annotations

from typing import Any

import pytest

from orchestra.llm.config import GatewayConfig
from orchestra.llm.errors import (
    ContextWindowExceeded,
    MalformedToolCall,
    ProviderUnavailable,
    RateLimited,
    Timeout,
)
from orchestra.llm.gateway import Gateway, build_gateway
from orchestra.llm.types import ChatMessage, ChatRequest, ToolSchema
from tests.llm.fake_openai import FakeOpenAI, closed_port_base


def ask(model: str, **kw: Any) -> ChatRequest:
    return ChatRequest(model=model, messages=[ChatMessage(role="user", content="hi")], **kw)


def gateway(model_list: list[dict[str, Any]], **kw: Any) -> Gateway:
    return build_gateway(GatewayConfig(cache="off", model_list=model_list, **kw))


async def test_fallback_when_one_server_fails(
    fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    fake_server.default = "server_error"
    gw = gateway(
        [fake_server.deployment("primary"), second_server.deployment("backup")],
        router_settings={"fallbacks": [{"primary": ["backup"]}]},
    )
    try:
        response = await gw.chat(ask("primary"))
    finally:
        await gw.close()
    assert response.content == "beta says hi"
    assert fake_server.hits == 2  # first try + one retry
    assert second_server.hits == 1
    assert response.usage.fallbacks == 1
    assert response.usage.retries == 1
    assert second_server.api_base in response.usage.deployment


async def test_load_balancing_sends_traffic_to_both_servers(
    fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    gw = gateway(
        [fake_server.deployment("pool"), second_server.deployment("pool")],
        router_settings={"routing_strategy": "simple-shuffle"},
    )
    try:
        answers = [await gw.chat(ask("pool")) for _ in range(16)]
    finally:
        await gw.close()
    assert fake_server.hits > 0 and second_server.hits > 0
    assert fake_server.hits + second_server.hits == 16
    deployments = {a.usage.deployment for a in answers}
    assert len(deployments) == 2


async def test_least_busy_strategy_routes_concurrent_calls(
    fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    import asyncio

    fake_server.default = second_server.default = "slow"
    fake_server.slow_s = second_server.slow_s = 0.2
    gw = gateway(
        [fake_server.deployment("pool"), second_server.deployment("pool")],
        router_settings={"routing_strategy": "least-busy"},
    )
    try:
        answers = await asyncio.gather(*(gw.chat(ask("pool")) for _ in range(6)))
    finally:
        await gw.close()
    assert {a.content for a in answers} <= {"alpha says hi", "beta says hi"}
    assert fake_server.hits + second_server.hits == 6


async def test_rate_limit_with_retry_after_is_retried(fake_server: FakeOpenAI) -> None:
    fake_server.behaviours = ["rate_limit"]
    fake_server.retry_after = 0.2
    gw = gateway([fake_server.deployment("m")])
    try:
        response = await gw.chat(ask("m"))
    finally:
        await gw.close()
    assert response.content == "alpha says hi"
    assert fake_server.hits == 2
    assert response.usage.retries == 1


async def test_persistent_rate_limit_is_a_rate_limited_error(fake_server: FakeOpenAI) -> None:
    fake_server.default = "rate_limit"
    fake_server.retry_after = 7
    gw = gateway([fake_server.deployment("m")], num_retries=0)
    try:
        with pytest.raises(RateLimited) as caught:
            await gw.chat(ask("m"))
    finally:
        await gw.close()
    assert caught.value.status == 429
    assert caught.value.retry_after == 7
    assert caught.value.retryable


async def test_timeout_is_a_timeout_error(fake_server: FakeOpenAI) -> None:
    fake_server.default = "slow"
    fake_server.slow_s = 3
    gw = gateway([fake_server.deployment("m")], num_retries=0)
    try:
        with pytest.raises(Timeout) as caught:
            await gw.chat(ask("m", timeout_s=0.3))
    finally:
        await gw.close()
    assert caught.value.retryable
    assert "timeout_s" in str(caught.value)


async def test_server_error_then_success_is_a_retry(fake_server: FakeOpenAI) -> None:
    fake_server.behaviours = ["unavailable"]
    gw = gateway([fake_server.deployment("m")])
    try:
        response = await gw.chat(ask("m"))
    finally:
        await gw.close()
    assert response.content == "alpha says hi"
    assert response.usage.retries == 1


async def test_refused_connection_is_provider_unavailable() -> None:
    deployment = {
        "model_name": "m",
        "litellm_params": {"model": "openai/x", "api_base": closed_port_base(), "api_key": "k"},
    }
    gw = gateway([deployment], num_retries=0)
    try:
        with pytest.raises(ProviderUnavailable) as caught:
            await gw.chat(ask("m"))
    finally:
        await gw.close()
    assert caught.value.retryable
    assert "orchestra models list" in str(caught.value)


async def test_refused_connection_falls_back(second_server: FakeOpenAI) -> None:
    dead = {
        "model_name": "m",
        "litellm_params": {"model": "openai/x", "api_base": closed_port_base(), "api_key": "k"},
    }
    gw = gateway(
        [dead, second_server.deployment("backup")],
        router_settings={"fallbacks": [{"m": ["backup"]}]},
        num_retries=0,
    )
    try:
        response = await gw.chat(ask("m"))
    finally:
        await gw.close()
    assert response.content == "beta says hi"
    assert response.usage.fallbacks == 1


async def test_malformed_tool_call_json_is_retried_then_clear_error(
    fake_server: FakeOpenAI,
) -> None:
    fake_server.default = "bad_tool_json"
    tool = ToolSchema(name="lookup", description="d", parameters={"type": "object"})
    gw = gateway([fake_server.deployment("m")])
    try:
        with pytest.raises(MalformedToolCall) as caught:
            await gw.chat(ask("m", tools=[tool]))
    finally:
        await gw.close()
    assert fake_server.hits == 2
    assert caught.value.raw == '{"query": "x"'


async def test_context_window_exceeded_is_clear_and_not_retried(fake_server: FakeOpenAI) -> None:
    fake_server.default = "context_window"
    gw = gateway([fake_server.deployment("m")])
    try:
        with pytest.raises(ContextWindowExceeded) as caught:
            await gw.chat(ask("m"))
    finally:
        await gw.close()
    assert fake_server.hits == 1
    assert caught.value.status == 400
    assert not caught.value.retryable
    assert "larger context window" in str(caught.value)


async def test_streaming_over_http_sends_tokens_and_usage(fake_server: FakeOpenAI) -> None:
    tokens: list[str] = []

    async def on_token(delta: str) -> None:
        tokens.append(delta)

    gw = gateway([fake_server.deployment("m")])
    try:
        response = await gw.chat(ask("m"), on_token=on_token)
    finally:
        await gw.close()
    assert tokens == ["alpha", " says", " hi"]
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (11, 7)
    assert fake_server.requests[0]["stream"] is True


async def test_hosted_model_cost_comes_from_the_cost_map(fake_server: FakeOpenAI) -> None:
    import litellm

    gw = gateway([fake_server.deployment("m", model="openai/gpt-4o-mini")])
    try:
        response = await gw.chat(ask("m"))
    finally:
        await gw.close()
    prompt, completion = litellm.cost_per_token(
        model="openai/gpt-4o-mini", prompt_tokens=11, completion_tokens=7
    )
    assert response.usage.cost_usd == pytest.approx(prompt + completion)
    assert response.usage.cost_usd > 0


async def test_request_options_reach_the_server(fake_server: FakeOpenAI) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    fake_server.default = "ok"
    gw = gateway([fake_server.deployment("m")])
    try:
        with pytest.raises(Exception):  # noqa: B017, PT011 - "alpha says hi" is not the schema
            await gw.chat(ask("m", temperature=0.1, max_tokens=5, response_schema=schema))
    finally:
        await gw.close()
    sent = fake_server.requests[0]
    assert sent["temperature"] == 0.1
    assert sent["max_tokens"] == 5
    assert sent["response_format"]["json_schema"]["schema"] == schema
