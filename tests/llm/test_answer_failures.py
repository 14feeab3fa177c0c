"""Failures the Router cannot see: a stream that breaks midway, an answer of the wrong shape.

Each is asked again on the same alias (``num_retries`` times), then of the next
fallback alias; tokens already streamed are declared void through
``on_restart``. Real OpenAI-compatible servers on 127.0.0.1 misbehave on
purpose (``fake_openai.FakeOpenAI``); LiteLLM is not patched.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from orchestra.agents.step_runner import GatewayStepRunner
from orchestra.engine.events import EventType
from orchestra.llm.config import GatewayConfig
from orchestra.llm.errors import MalformedOutput, MalformedToolCall, StreamInterrupted
from orchestra.llm.gateway import Gateway, build_gateway
from orchestra.llm.types import ChatMessage, ChatRequest, StreamRestart, ToolSchema
from tests.agents.test_step_runner import Events, context
from tests.llm.fake_openai import FakeOpenAI

SCHEMA = {
    "type": "object",
    "properties": {"verdict": {"type": "string"}},
    "required": ["verdict"],
}
LOOKUP = ToolSchema(name="lookup", description="d", parameters={"type": "object"})


def ask(model: str = "primary", **kw: Any) -> ChatRequest:
    return ChatRequest(model=model, messages=[ChatMessage(role="user", content="hi")], **kw)


@asynccontextmanager
async def opened(config: GatewayConfig) -> AsyncIterator[Gateway]:
    gateway = build_gateway(config)
    try:
        yield gateway
    finally:
        await gateway.close()


def pair(
    primary: FakeOpenAI, backup: FakeOpenAI, **kw: Any
) -> AbstractAsyncContextManager[Gateway]:
    """A gateway where ``primary`` falls back to ``backup``, closed on leaving."""
    return opened(
        GatewayConfig(
            cache="off",
            model_list=[primary.deployment("primary"), backup.deployment("backup")],
            router_settings={"fallbacks": [{"primary": ["backup"]}]},
            **kw,
        )
    )


class Stream:
    """Collects what the gateway streams: tokens, and restarts as markers."""

    def __init__(self) -> None:
        self.items: list[str | StreamRestart] = []

    async def token(self, text: str) -> None:
        self.items.append(text)

    async def restart(self, restart: StreamRestart) -> None:
        self.items.append(restart)

    def text_after_last_restart(self) -> str:
        last = max((i for i, x in enumerate(self.items) if not isinstance(x, str)), default=-1)
        return "".join(x for x in self.items[last + 1 :] if isinstance(x, str))


async def test_a_stream_that_breaks_once_is_asked_again_and_the_restart_is_marked(
    fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    fake_server.content = "one two three four five six"
    fake_server.behaviours = ["stream_break"]
    stream = Stream()
    async with pair(fake_server, second_server) as gw:
        response = await gw.chat(ask(), stream.token, stream.restart)
    assert response.content == "one two three four five six"
    assert fake_server.hits == 2 and second_server.hits == 0
    restarts = [x for x in stream.items if isinstance(x, StreamRestart)]
    assert len(restarts) == 1
    assert restarts[0].restart == 1
    assert restarts[0].model == "primary"
    assert restarts[0].discarded_chars == len("one two three")
    assert "stream broke" in restarts[0].reason
    assert stream.items[:3] == ["one", " two", " three"]  # streamed before the break
    assert stream.text_after_last_restart() == "one two three four five six"
    assert response.usage.retries == 1
    assert response.usage.fallbacks == 0


async def test_a_stream_that_keeps_breaking_falls_back_to_the_next_alias(
    fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    fake_server.content = "one two three four"
    fake_server.default = "stream_break"
    stream = Stream()
    async with pair(fake_server, second_server) as gw:
        response = await gw.chat(ask(), stream.token, stream.restart)
    assert response.content == "beta says hi"
    assert fake_server.hits == 2  # a try and one retry (num_retries=1)
    assert second_server.hits == 1
    restarts = [x for x in stream.items if isinstance(x, StreamRestart)]
    assert [(r.restart, r.model) for r in restarts] == [(1, "primary"), (2, "backup")]
    assert stream.text_after_last_restart() == "beta says hi"
    assert response.usage.fallbacks == 1
    assert response.usage.retries == 1
    assert second_server.api_base in response.usage.deployment


async def test_a_broken_stream_without_fallback_is_a_clear_error(fake_server: FakeOpenAI) -> None:
    fake_server.default = "stream_break"
    stream = Stream()
    async with opened(GatewayConfig(cache="off", model_list=[fake_server.deployment("m")])) as gw:
        with pytest.raises(StreamInterrupted) as caught:
            await gw.chat(ask("m"), stream.token, stream.restart)
    assert caught.value.retryable
    assert "stream broke after" in str(caught.value)
    assert caught.value.usage is not None and caught.value.usage.retries == 1
    assert fake_server.hits == 2


async def test_an_answer_off_the_schema_falls_back_to_the_next_alias(
    fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    # primary answers prose; backup answers the JSON the schema asks for
    second_server.content = json.dumps({"verdict": "fine"})
    async with pair(fake_server, second_server) as gw:
        response = await gw.chat(ask(response_schema=SCHEMA))
    assert json.loads(response.content or "") == {"verdict": "fine"}
    assert fake_server.hits == 2 and second_server.hits == 1
    assert response.usage.fallbacks == 1
    assert response.usage.retries == 1
    assert second_server.api_base in response.usage.deployment
    # The refused answers were paid for: their tokens count (11 + 7 per call here).
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (33, 21)


async def test_malformed_tool_call_json_falls_back_to_the_next_alias(
    fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    fake_server.default = "bad_tool_json"
    async with pair(fake_server, second_server) as gw:
        response = await gw.chat(ask(tools=[LOOKUP]))
    assert [(c.name, json.loads(c.arguments)) for c in response.tool_calls] == [
        ("lookup", {"query": "x"})
    ]
    assert fake_server.hits == 2 and second_server.hits == 1
    assert response.usage.fallbacks == 1


async def test_malformed_everywhere_fails_with_what_it_cost(
    fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    fake_server.default = second_server.default = "bad_tool_json"
    async with pair(fake_server, second_server) as gw:
        with pytest.raises(MalformedToolCall) as caught:
            await gw.chat(ask(tools=[LOOKUP]))
    assert fake_server.hits == 2 and second_server.hits == 2
    usage = caught.value.usage
    assert usage is not None
    assert usage.fallbacks == 1
    assert usage.retries == 2
    assert usage.prompt_tokens == 4 * 11


async def test_a_fallback_that_is_down_ends_with_the_malformed_answers_error(
    fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    fake_server.default = "bad_tool_json"
    second_server.default = "unavailable"
    async with pair(fake_server, second_server, num_retries=0) as gw:
        with pytest.raises(MalformedOutput) as caught:
            await gw.chat(ask(tools=[LOOKUP]))
    assert fake_server.hits == 1 and second_server.hits == 1
    assert caught.value.usage is not None and caught.value.usage.fallbacks == 1


async def test_a_streaming_step_marks_the_restart_in_its_events(
    fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    fake_server.content = "one two three four"
    fake_server.default = "stream_break"
    events = Events()
    ctx = context("primary", ("Out",), events)
    async with pair(fake_server, second_server) as gw:
        result = await GatewayStepRunner(gw, stream=True).run_step(ctx)
    assert result.outputs == {"Out": "beta says hi"}
    seen = events.seen
    logs = [c for t, c in seen if t is EventType.LOG and "stream_restart" in c]
    assert [c["stream_restart"] for c in logs] == [1, 2]
    assert "void" in logs[0]["message"]
    tokens = [c for t, c in seen if t is EventType.TOKEN]
    assert tokens[0] == {"text": "one"}  # before any restart: unmarked
    final = [c["text"] for c in tokens if c.get("restart") == 2]
    assert "".join(final) == "beta says hi"


async def test_a_streamed_answer_off_the_schema_is_voided_before_the_fallback_streams(
    fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    second_server.content = json.dumps({"verdict": "fine"})
    stream = Stream()
    async with pair(fake_server, second_server, num_retries=0) as gw:
        response = await gw.chat(ask(response_schema=SCHEMA), stream.token, stream.restart)
    assert json.loads(response.content or "") == {"verdict": "fine"}
    restarts = [x for x in stream.items if isinstance(x, StreamRestart)]
    assert [(r.restart, r.model, r.discarded_chars) for r in restarts] == [
        (1, "backup", len("alpha says hi"))
    ]
    assert "response schema" in restarts[0].reason
    assert stream.text_after_last_restart() == response.content
    assert response.usage.fallbacks == 1 and response.usage.retries == 0
