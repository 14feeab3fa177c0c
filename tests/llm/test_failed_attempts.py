"""The gateway does not hide failures: every failed try is retried where it should be, and
recorded (deployment, error class, latency).

Real OpenAI-compatible servers on 127.0.0.1: two deployments of one alias (one of them a
child process that is killed, as a crashed GPU box dies) and a third as the fallback alias.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orchestra.llm.config import GatewayConfig
from orchestra.llm.errors import EmptyAnswer
from orchestra.llm.gateway import Gateway, build_gateway
from orchestra.llm.types import ChatMessage, ChatRequest, ChatResponse, StreamRestart
from tests.llm.fake_openai import FakeOpenAI, FakeOpenAIProcess


def ask(model: str, **kw: Any) -> ChatRequest:
    return ChatRequest(model=model, messages=[ChatMessage(role="user", content="hi")], **kw)


def gateway(model_list: list[dict[str, Any]], **kw: Any) -> Gateway:
    return build_gateway(GatewayConfig(cache="off", model_list=model_list, **kw))


def label(alias: str, server: FakeOpenAI | FakeOpenAIProcess) -> str:
    return f"{alias}[openai/fake-model@{server.api_base}]"


@pytest.fixture
def third_server() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI("gamma").start()
    yield server
    server.stop()


@pytest.fixture
def doomed_server() -> Iterator[FakeOpenAIProcess]:
    server = FakeOpenAIProcess("doomed").start()
    yield server
    server.kill()


async def test_a_stream_without_finish_reason_is_retried_on_the_other_deployment(
    fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    """llama-cpp-python's server ends an earlier stream, cleanly but with no finish reason."""
    fake_server.behaviours = ["no_finish"]
    tokens: list[str] = []
    restarts: list[StreamRestart] = []

    async def on_token(text: str) -> None:
        tokens.append(text)

    async def on_restart(restart: StreamRestart) -> None:
        restarts.append(restart)

    gw = gateway(
        [fake_server.deployment("pool", order=1), second_server.deployment("pool", order=2)]
    )
    try:
        response = await gw.chat(ask("pool"), on_token, on_restart)
    finally:
        await gw.close()
    assert response.content == "beta says hi"
    assert response.usage.deployment == label("pool", second_server)
    [failed] = response.usage.failed_attempts
    assert (failed.deployment, failed.error) == (label("pool", fake_server), "StreamInterrupted")
    assert "without a finish reason" in failed.message
    assert failed.latency_s > 0
    assert response.usage.retries == 1
    # The cut-short text was streamed first, then declared void.
    assert [r.discarded_chars for r in restarts] == [len("alpha")]
    assert tokens == ["alpha", "beta", " says", " hi"]


async def test_an_empty_answer_is_a_failed_try_then_the_fallback_answers(
    fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    fake_server.default = "empty"
    gw = gateway(
        [fake_server.deployment("m"), second_server.deployment("backup")],
        router_settings={"fallbacks": [{"m": ["backup"]}]},
    )
    try:
        response = await gw.chat(ask("m"))
    finally:
        await gw.close()
    assert response.content == "beta says hi"
    assert [(a.deployment, a.error) for a in response.usage.failed_attempts] == [
        (label("m", fake_server), "EmptyAnswer")
    ] * 2
    assert (response.usage.retries, response.usage.fallbacks) == (1, 1)
    # The refused answers were paid for: their tokens count.
    assert response.usage.prompt_tokens == 3 * 11


async def test_only_empty_answers_fail_the_call_with_every_try_recorded(
    fake_server: FakeOpenAI,
) -> None:
    fake_server.default = "empty"
    gw = gateway([fake_server.deployment("m")])
    try:
        with pytest.raises(EmptyAnswer) as caught:
            await gw.chat(ask("m", stream=True))
    finally:
        await gw.close()
    assert caught.value.usage is not None
    assert [a.error for a in caught.value.usage.failed_attempts] == ["EmptyAnswer"] * 2
    assert caught.value.usage.retries == 1


async def test_a_killed_deployment_is_skipped_for_the_healthy_one_not_the_fallback(
    doomed_server: FakeOpenAIProcess, second_server: FakeOpenAI, third_server: FakeOpenAI
) -> None:
    """The killed server is tried first (``order``); the alias's other deployment answers."""
    gw = gateway(
        [
            doomed_server.deployment("pool", order=1),
            second_server.deployment("pool", order=2),
            third_server.deployment("backup"),
        ],
        router_settings={"fallbacks": [{"pool": ["backup"]}]},
    )
    doomed_server.kill()
    try:
        answers = [await gw.chat(ask("pool")) for _ in range(9)]
    finally:
        await gw.close()
    assert {a.content for a in answers} == {"beta says hi"}
    assert third_server.hits == 0
    assert second_server.hits == 9
    first = answers[0].usage
    [failed] = first.failed_attempts
    assert (failed.deployment, failed.error) == (
        label("pool", doomed_server),
        "ProviderUnavailable",
    )
    assert failed.latency_s > 0
    for answer in answers:  # each failed try is a retry, none a fallback
        assert answer.usage.retries == len(answer.usage.failed_attempts)
        assert answer.usage.fallbacks == 0
        assert {a.deployment for a in answer.usage.failed_attempts} <= {failed.deployment}


async def test_shuffled_deployments_with_one_dead_never_reach_the_fallback(
    doomed_server: FakeOpenAIProcess, second_server: FakeOpenAI, third_server: FakeOpenAI
) -> None:
    """The issue's setting: simple-shuffle over two servers, one killed, a fallback alias."""
    gw = gateway(
        [
            doomed_server.deployment("pool"),
            second_server.deployment("pool"),
            third_server.deployment("backup"),
        ],
        router_settings={"fallbacks": [{"pool": ["backup"]}]},
    )
    doomed_server.kill()
    answers: list[ChatResponse] = []
    try:
        answers = [await gw.chat(ask("pool")) for _ in range(12)]
    finally:
        await gw.close()
    assert third_server.hits == 0
    assert {a.usage.deployment for a in answers} == {label("pool", second_server)}
    for answer in answers:
        assert answer.usage.retries == len(answer.usage.failed_attempts)
