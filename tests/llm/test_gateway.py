"""Gateway behaviour through the scripted provider (same Router path as real models)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra.llm.config import GatewayConfig
from orchestra.llm.errors import (
    ContextWindowExceeded,
    MalformedOutput,
    MalformedToolCall,
    ModelConfigError,
    ScriptError,
    UnknownModel,
)
from orchestra.llm.gateway import Gateway, build_gateway
from orchestra.llm.scripted import Reply, ScriptedToolCall
from orchestra.llm.types import ChatMessage, ChatRequest, ToolCall, ToolSchema


def ask(model: str, text: str = "hello there", **kw: object) -> ChatRequest:
    return ChatRequest(model=model, messages=[ChatMessage(role="user", content=text)], **kw)  # type: ignore[arg-type]


LOOKUP = ToolSchema(
    name="lookup", description="find", parameters={"type": "object", "properties": {}}
)


@pytest.fixture
async def gateway(tmp_path: Path) -> Gateway:
    gw = build_gateway(GatewayConfig(cache="memory", cache_dir=tmp_path))
    yield gw  # type: ignore[misc]
    await gw.close()


async def test_echo_answers_from_last_user_message_with_usage(gateway: Gateway) -> None:
    response = await gateway.chat(ask("scripted/echo", "hello there"))
    assert response.content == "echo: hello there"
    assert response.finish_reason == "stop"
    assert response.usage.prompt_tokens == 2
    assert response.usage.completion_tokens == 3
    assert response.usage.model == "scripted/echo"
    assert response.usage.deployment.startswith("scripted/echo")
    assert response.usage.cost_usd == 0.0
    assert response.usage.latency_s > 0
    assert (response.usage.retries, response.usage.fallbacks, response.usage.cached) == (
        0,
        0,
        False,
    )


async def test_streaming_sends_tokens_in_order_and_keeps_usage(gateway: Gateway) -> None:
    tokens: list[str] = []

    async def on_token(delta: str) -> None:
        tokens.append(delta)

    response = await gateway.chat(ask("scripted/echo", "one two three"), on_token=on_token)
    assert tokens == ["echo:", " one", " two", " three"]
    assert response.content == "echo: one two three"
    assert response.usage.completion_tokens == 4


async def test_tool_calls_come_back_as_tool_calls(gateway: Gateway) -> None:
    gateway.scripts.register(
        "agent", [Reply(tool_calls=[ScriptedToolCall("lookup", {"q": "x"})]), Reply(text="done")]
    )
    first = await gateway.chat(ask("scripted/agent", tools=[LOOKUP]))
    assert first.tool_calls == [
        ToolCall(id=first.tool_calls[0].id, name="lookup", arguments='{"q": "x"}')
    ]
    assert first.finish_reason == "tool_calls"
    second = await gateway.chat(
        ChatRequest(
            model="scripted/agent",
            messages=[
                ChatMessage(role="user", content="go"),
                ChatMessage(role="assistant", tool_calls=first.tool_calls),
                ChatMessage(role="tool", tool_call_id=first.tool_calls[0].id, content="42"),
            ],
            tools=[LOOKUP],
        )
    )
    assert second.content == "done"
    sent = gateway.scripts.calls("agent")[1]
    assert sent[1]["tool_calls"][0]["function"]["name"] == "lookup"
    assert sent[2] == {"role": "tool", "content": "42", "tool_call_id": first.tool_calls[0].id}


async def test_streamed_tool_calls_are_assembled(gateway: Gateway) -> None:
    gateway.scripts.register("agent", [Reply(tool_calls=[ScriptedToolCall("lookup", {"q": 1})])])

    async def ignore(delta: str) -> None:
        return None

    response = await gateway.chat(ask("scripted/agent", tools=[LOOKUP]), on_token=ignore)
    assert [(c.name, c.arguments) for c in response.tool_calls] == [("lookup", '{"q": 1}')]


async def test_malformed_tool_call_json_is_retried_once(gateway: Gateway) -> None:
    bad = Reply(tool_calls=[ScriptedToolCall("lookup", raw_arguments='{"q": ')])
    good = Reply(tool_calls=[ScriptedToolCall("lookup", {"q": 2})])
    gateway.scripts.register("flaky", [bad, good])
    response = await gateway.chat(ask("scripted/flaky", tools=[LOOKUP]))
    assert response.tool_calls[0].arguments == '{"q": 2}'
    assert response.usage.retries == 1


async def test_malformed_tool_call_twice_is_a_clear_error(gateway: Gateway) -> None:
    bad = Reply(tool_calls=[ScriptedToolCall("lookup", raw_arguments="not json")])
    gateway.scripts.register("broken", [bad], repeat_last=True)
    with pytest.raises(MalformedToolCall) as caught:
        await gateway.chat(ask("scripted/broken", tools=[LOOKUP]))
    assert caught.value.retryable
    assert caught.value.raw == "not json"
    assert len(gateway.scripts.calls("broken")) == 2


async def test_response_schema_echo_returns_a_valid_instance(gateway: Gateway) -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "steps": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["title", "steps"],
    }
    response = await gateway.chat(ask("scripted/echo", "plan it", response_schema=schema))
    assert response.content == '{"title": "plan it", "steps": []}'


async def test_response_not_matching_schema_raises_malformed_output(gateway: Gateway) -> None:
    gateway.scripts.register("prose", ["just prose"], repeat_last=True)
    with pytest.raises(MalformedOutput, match="response schema"):
        await gateway.chat(ask("scripted/prose", response_schema={"type": "object"}))


async def test_context_window_error_is_not_retried(gateway: Gateway) -> None:
    gateway.scripts.register("small", [Reply(fail="context_window")], repeat_last=True)
    with pytest.raises(ContextWindowExceeded) as caught:
        await gateway.chat(ask("scripted/small"))
    assert not caught.value.retryable
    assert caught.value.provider == "scripted"
    assert len(gateway.scripts.calls("small")) == 1


async def test_unavailable_is_retried_once_then_answers(gateway: Gateway) -> None:
    gateway.scripts.register("wobbly", [Reply(fail="unavailable"), Reply(text="fine")])
    response = await gateway.chat(ask("scripted/wobbly"))
    assert response.content == "fine"
    assert response.usage.retries == 1


async def test_fallback_to_another_alias(tmp_path: Path) -> None:
    config = GatewayConfig(
        cache="off",
        model_list=[
            {"model_name": "primary", "litellm_params": {"model": "scripted/down"}},
            {"model_name": "backup", "litellm_params": {"model": "scripted/echo"}},
        ],
        router_settings={"fallbacks": [{"primary": ["backup"]}]},
    )
    gw = build_gateway(config)
    gw.scripts.register("down", [Reply(fail="unavailable")], repeat_last=True)
    try:
        response = await gw.chat(ask("primary", "hi"))
    finally:
        await gw.close()
    assert response.content == "echo: hi"
    assert response.usage.fallbacks == 1
    assert response.usage.retries == 1
    assert response.usage.deployment.startswith("backup")
    assert len(gw.scripts.calls("down")) == 2


async def test_default_names_the_configured_default_alias() -> None:
    config = GatewayConfig(
        cache="off",
        default="writer",
        model_list=[{"model_name": "writer", "litellm_params": {"model": "scripted/echo"}}],
    )
    gw = build_gateway(config)
    try:
        response = await gw.chat(ask("default", "hey"))
    finally:
        await gw.close()
    assert response.content == "echo: hey"
    assert response.usage.deployment.startswith("writer")


async def test_unknown_alias_suggests_close_names(gateway: Gateway) -> None:
    with pytest.raises(UnknownModel, match="Did you mean local"):
        await gateway.chat(ask("locl"))


async def test_unknown_script_is_a_script_error(gateway: Gateway) -> None:
    with pytest.raises(ScriptError, match="register"):
        await gateway.chat(ask("scripted/nobody"))


async def test_memory_cache_answers_repeated_requests(gateway: Gateway) -> None:
    gateway.scripts.register("once", ["first answer"])
    first = await gateway.chat(ask("scripted/once", cache=True))
    again = await gateway.chat(ask("scripted/once", cache=True, metadata={"run_id": "other"}))
    assert again.content == first.content == "first answer"
    assert again.usage.cached and not first.usage.cached
    assert again.usage.prompt_tokens == first.usage.prompt_tokens
    assert len(gateway.scripts.calls("once")) == 1


async def test_uncached_requests_always_reach_the_model(gateway: Gateway) -> None:
    gateway.scripts.register("twice", ["a", "b"])
    assert (await gateway.chat(ask("scripted/twice"))).content == "a"
    assert (await gateway.chat(ask("scripted/twice"))).content == "b"


async def test_disk_cache_survives_a_new_gateway(tmp_path: Path) -> None:
    config = GatewayConfig(cache="disk", cache_dir=tmp_path)
    first_gw = build_gateway(config)
    first_gw.scripts.register("once", ["remembered"])
    await first_gw.chat(ask("scripted/once", cache=True))
    await first_gw.close()
    second_gw = build_gateway(config)
    second_gw.scripts.register("once", [])
    response = await second_gw.chat(ask("scripted/once", cache=True))
    await second_gw.close()
    assert response.content == "remembered"
    assert response.usage.cached
    assert second_gw.scripts.calls("once") == []


async def test_redis_cache_is_shared_between_gateways(redis_url: str) -> None:
    config = GatewayConfig(cache="redis", redis_url=redis_url)
    first_gw = build_gateway(config)
    first_gw.scripts.register("once", ["from redis"])
    request = ask("scripted/once", "redis please", cache=True)
    await first_gw.chat(request)
    await first_gw.close()
    second_gw = build_gateway(config)
    second_gw.scripts.register("once", [])
    response = await second_gw.chat(request)
    await second_gw.close()
    assert response.content == "from redis"
    assert response.usage.cached


async def test_unknown_router_setting_is_a_config_error() -> None:
    # Building a gateway does not import LiteLLM; the Router (and this check) come when
    # the first call needs them (issue 14.1).
    gateway = build_gateway(
        GatewayConfig(cache="off", router_settings={"routing_stratgy": "least-busy"})
    )
    with pytest.raises(ModelConfigError, match="routing_strategy"):
        await gateway.ready()


async def test_a_streamed_call_refused_before_any_token_keeps_its_own_error(
    gateway: Gateway,
) -> None:
    """An authentication failure is not a broken stream: not retried, named as it is."""
    from orchestra.llm.errors import AuthenticationFailed

    gateway.scripts.register("locked", lambda _messages: Reply(fail="auth"))
    tokens: list[str] = []

    async def on_token(text: str) -> None:
        tokens.append(text)

    with pytest.raises(AuthenticationFailed) as raised:
        await gateway.chat(ask("scripted/locked"), on_token=on_token)
    assert len(gateway.scripts.calls("locked")) == 1
    usage = raised.value.usage
    assert usage is not None
    assert [a.error for a in usage.failed_attempts] == ["AuthenticationFailed"]
    assert tokens == []
