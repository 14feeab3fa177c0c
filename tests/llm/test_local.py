"""The embedded local model (Gemma 3 270M on llama.cpp), for real, through the gateway."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestra.llm.config import GatewayConfig, LocalModelConfig
from orchestra.llm.errors import LocalModelUnavailable
from orchestra.llm.gateway import Gateway, build_gateway
from orchestra.llm.local import ensure_model_file, parse_tool_call, render_prompt
from orchestra.llm.types import ChatMessage, ChatRequest


@pytest.fixture(scope="module")
def model_file() -> Path:
    return ensure_model_file(LocalModelConfig())


@pytest.fixture
async def gateway(model_file: Path) -> Gateway:
    gw = build_gateway(GatewayConfig(cache="off", local=LocalModelConfig(n_ctx=2048)))
    yield gw  # type: ignore[misc]
    await gw.close()


def ask(text: str, **kw: object) -> ChatRequest:
    return ChatRequest(
        model="local",
        messages=[
            ChatMessage(role="system", content="Answer briefly."),
            ChatMessage(role="user", content=text),
        ],
        temperature=0.0,
        **kw,  # type: ignore[arg-type]
    )


def test_model_is_assembled_once_into_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = ensure_model_file(LocalModelConfig())
    assert first == tmp_path / "orchestra" / "models" / "gemma-3-270m-q4_k_m.gguf"
    assert first.stat().st_size > 100_000_000
    stamp = first.stat().st_mtime_ns
    assert ensure_model_file(LocalModelConfig()) == first
    assert first.stat().st_mtime_ns == stamp
    assert not list(first.parent.glob("*.partial-*"))


def test_missing_model_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LocalModelUnavailable, match="does not exist"):
        ensure_model_file(LocalModelConfig(model_path=tmp_path / "none.gguf"))


async def test_local_model_answers_with_usage(gateway: Gateway) -> None:
    response = await gateway.chat(ask("What is the capital of France?", max_tokens=16))
    assert response.content
    assert response.usage.model == "orchestra-local/gemma-3-270m"
    assert response.usage.deployment.startswith("local")
    assert response.usage.prompt_tokens > 5
    assert 0 < response.usage.completion_tokens <= 16
    assert response.usage.cost_usd == 0.0


async def test_local_model_streams_tokens(gateway: Gateway) -> None:
    tokens: list[str] = []

    async def on_token(delta: str) -> None:
        tokens.append(delta)

    # The last words of a stream are held back until the repetition check passes them, so
    # ask for an answer long enough to stream in several pieces.
    request = ask("Describe a lighthouse on a stormy night in a few sentences.", max_tokens=60)
    response = await gateway.chat(request, on_token=on_token)
    assert len(tokens) > 1
    assert "".join(tokens) == response.content
    assert response.usage.completion_tokens > 0


async def test_local_model_follows_a_json_schema(gateway: Gateway) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 20}},
        "required": ["city"],
    }
    response = await gateway.chat(
        ask("Name a city in France as JSON.", max_tokens=40, response_schema=schema)
    )
    assert isinstance(json.loads(response.content or ""), dict)
    assert "city" in json.loads(response.content or "")


def test_prompt_is_a_completion_prompt_with_a_worked_example() -> None:
    """The packaged model is a base model: no chat turns, one example, then the request."""
    prompt = render_prompt(
        [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Bye"},
        ],
        None,
    )
    assert "<start_of_turn>" not in prompt
    example, request = prompt.split("###\n")
    assert "Request: " in example and "\nAnswer: " in example
    assert request == "Be terse.\n\nRequest: Hi\nAnswer: Hello\nRequest: Bye\nAnswer:"


def test_tool_call_objects_are_recognised() -> None:
    text = '{"tool_call": {"name": "files.read", "arguments": {"path": "a"}}}'
    assert parse_tool_call(text, {"files.read"}) == ("files.read", '{"path": "a"}')
    assert parse_tool_call(text, {"other"}) is None
    assert parse_tool_call("plain words", {"files.read"}) is None


def test_llama_cpp_prints_nothing_to_the_terminal(model_file: Path) -> None:
    """llama.cpp's own log lines (e.g. ``llama_kv_cache_iswa: …`` at load) never reach
    stderr, where they would interleave with the terminal's live view."""
    import subprocess
    import sys

    script = (
        "import asyncio\n"
        "from orchestra.llm.config import GatewayConfig, LocalModelConfig\n"
        "from orchestra.llm.gateway import build_gateway\n"
        "from orchestra.llm.types import ChatMessage, ChatRequest\n"
        "async def main():\n"
        "    gw = build_gateway(GatewayConfig(cache='off', local=LocalModelConfig(n_ctx=1024)))\n"
        "    r = await gw.chat(ChatRequest(model='local', max_tokens=4,\n"
        "        messages=[ChatMessage(role='user', content='Hi')]))\n"
        "    print('tokens', r.usage.completion_tokens)\n"
        "    await gw.close()\n"
        "asyncio.run(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "tokens" in done.stdout
    assert "llama" not in done.stderr, done.stderr
