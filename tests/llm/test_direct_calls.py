"""Which path a call takes: in-process models and lone OpenAI-compatible servers are called
without LiteLLM (it is not even imported); what only LiteLLM knows (``rpm``) still goes
through its Router; cost comes from LiteLLM's price map, looked up once per model.

The subprocess tests run a real gateway against a real OpenAI-compatible server on
127.0.0.1 (``fake_openai.FakeOpenAI``) in a fresh interpreter, so ``sys.modules`` says
what the calls imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from orchestra.llm.pricing import Prices

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import asyncio, json, sys
from tests.llm.fake_openai import FakeOpenAI
from orchestra.llm.config import GatewayConfig
from orchestra.llm.gateway import build_gateway
from orchestra.llm.types import ChatMessage, ChatRequest

async def main():
    server = FakeOpenAI("alpha").start()
    extra = json.loads(sys.argv[1])
    gateway = build_gateway(GatewayConfig(
        cache="off", model_list=[server.deployment("hosted", **extra),
                                 {{"model_name": "fake", "litellm_params": {{"model": "scripted/echo"}}}}],
    ))
    answers = []
    for model in ("hosted", "fake", "scripted/instant", "local"):
        if model == "local":
            continue  # not called: loading the embedded model is another test's business
        for stream in (False, True):
            request = ChatRequest(model=model, stream=stream,
                                  messages=[ChatMessage(role="user", content="hi")])
            response = await gateway.chat(request)
            answers.append([model, response.content, response.usage.deployment])
    await gateway.close()
    server.stop()
    print(json.dumps({{"answers": answers, "litellm": "litellm" in sys.modules}}))

asyncio.run(main())
"""


def run_child(extra: dict[str, object]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD.format()), json.dumps(extra)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_in_process_models_and_a_lone_openai_server_never_import_litellm() -> None:
    result = run_child({})
    assert result["answers"] == [
        ["hosted", "alpha says hi", result["answers"][0][2]],  # type: ignore[index]
        ["hosted", "alpha says hi", result["answers"][0][2]],  # type: ignore[index]
        ["fake", "echo: hi", "fake[scripted/echo]"],
        ["fake", "echo: hi", "fake[scripted/echo]"],
        ["scripted/instant", "ok", "scripted/instant[scripted/instant]"],
        ["scripted/instant", "ok", "scripted/instant[scripted/instant]"],
    ]
    assert str(result["answers"][0][2]).startswith("hosted[openai/fake-model@http://127.0.0.1:")  # type: ignore[index]
    assert result["litellm"] is False


def test_a_deployment_with_an_rpm_limit_goes_through_the_router() -> None:
    """``rpm`` is counted per call by LiteLLM's Router: such a deployment keeps its path."""
    result = run_child({"rpm": 1000})
    assert [a[1] for a in result["answers"]][:2] == ["alpha says hi"] * 2  # type: ignore[index]
    assert result["litellm"] is True


def test_prices_match_litellms_cost_per_token_for_flat_and_tiered_models() -> None:
    import litellm

    tiered = next(
        name
        for name, info in litellm.model_cost.items()
        if info.get("input_cost_per_token_above_200k_tokens")
    )
    prices = Prices()
    for model, prompt, completion in (
        ("openai/gpt-4o-mini", 11, 7),
        ("openai/gpt-4o-mini", 1200, 300),
        (tiered, 250_000, 10),
        (tiered, 1_000, 10),
    ):
        expected = sum(
            litellm.cost_per_token(model=model, prompt_tokens=prompt, completion_tokens=completion)
        )
        assert prices.cost(model, prompt, completion) == pytest.approx(expected)
    assert prices.cost("openai/not-a-model-anyone-prices", 10, 10) == 0.0


def test_messages_reach_the_model_with_every_field_they_set() -> None:
    """The gateway writes messages out by hand (hot path): every field of ChatMessage is
    carried, and a new field would fail here until it is."""
    from orchestra.llm.gateway import _messages
    from orchestra.llm.types import ChatMessage, ChatRequest, ToolCall

    assert set(ChatMessage.model_fields) == {
        "role",
        "content",
        "tool_calls",
        "tool_call_id",
        "name",
    }
    call = ToolCall(id="c1", name="files.read", arguments='{"path": "a"}')
    request = ChatRequest(
        model="m",
        messages=[
            ChatMessage(role="system", content="be brief"),
            ChatMessage(role="assistant", content=None, tool_calls=[call]),
            ChatMessage(role="tool", content="text", tool_call_id="c1", name="files.read"),
        ],
    )
    assert _messages(request) == [
        {"role": "system", "content": "be brief"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "files.read", "arguments": '{"path": "a"}'},
                }
            ],
        },
        {"role": "tool", "content": "text", "tool_call_id": "c1", "name": "files.read"},
    ]
