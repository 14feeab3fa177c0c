"""OpenRouter through the gateway, at the HTTP transport (respx): an ``openrouter/…``
entry of the model list is called on OpenRouter's API with its key (the ``openai`` SDK
path), tokens and cost come back on the answer, and a failing OpenRouter falls back to
another provider. Then ``[models.selection]`` end to end: tasks of low and high
complexity run on the cheap and the strong OpenRouter model, and their runs record the
tokens and cost of those calls."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from orchestra.config import load_settings
from orchestra.config.settings import ComplexityRule, ModelSelection
from orchestra.engine.ids import RunId
from orchestra.llm.config import GatewayConfig
from orchestra.llm.gateway import Gateway, build_gateway
from orchestra.llm.providers import prepare_litellm
from orchestra.llm.types import ChatMessage, ChatRequest
from orchestra.runtime.container import Container, ContainerOptions
from orchestra.runtime.model_selection import choose_model
from orchestra.tasks import TaskStatus
from orchestra.tasks.specs import TaskDraft

OPENROUTER = "https://openrouter.ai/api/v1/chat/completions"
OPENAI = "https://api.openai.com/v1/chat/completions"
STRONG = "anthropic/claude-3.5-sonnet"
CHEAP = "meta-llama/llama-3.1-8b-instruct"
COSTS = {CHEAP: (100, 10, 0.00002), STRONG: (2000, 400, 0.012)}
"""Tokens in, tokens out and the cost OpenRouter reports, per model."""


def _price(model: str) -> tuple[float, float]:
    """Per-token prices from LiteLLM's bundled map (what the gateway must charge)."""
    prepare_litellm()  # offline: the bundled map, no download
    import litellm

    entry = litellm.model_cost[model]
    return float(entry["input_cost_per_token"]), float(entry["output_cost_per_token"])


def _completion(
    model: str, text: str, prompt: int, completion: int, cost: float | None = None
) -> dict[str, Any]:
    """A chat completion as the API sends it; OpenRouter adds ``usage.cost`` (USD)."""
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cost is not None:
        usage["cost"] = cost
    return {
        "id": "gen-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": text},
            }
        ],
        "usage": usage,
    }


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        yield router


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    config = GatewayConfig(
        cache="off",
        num_retries=0,
        model_list=[
            {
                "model_name": "strong",
                "litellm_params": {"model": f"openrouter/{STRONG}", "api_key": "sk-or-test"},
            },
            {
                "model_name": "backup",
                "litellm_params": {"model": "openai/gpt-4o-mini", "api_key": "sk-oa-test"},
            },
        ],
        router_settings={"fallbacks": [{"strong": ["backup"]}]},
    )
    built = build_gateway(config)
    try:
        yield built
    finally:
        await built.close()


def _ask(model: str) -> ChatRequest:
    return ChatRequest(model=model, stream=False, messages=[ChatMessage(role="user", content="hi")])


async def test_an_openrouter_entry_is_called_with_its_key_and_charged(
    gateway: Gateway, mock: respx.MockRouter
) -> None:
    route = mock.post(OPENROUTER).mock(
        return_value=httpx.Response(
            200, json=_completion(STRONG, "hello from or", 1200, 300, cost=0.0081)
        )
    )
    response = await gateway.chat(_ask("strong"))

    assert response.content == "hello from or"
    sent = route.calls.last.request
    assert sent.headers["authorization"] == "Bearer sk-or-test"
    assert json.loads(sent.content)["model"] == STRONG  # the provider prefix is stripped
    assert response.usage.prompt_tokens == 1200
    assert response.usage.completion_tokens == 300
    # LiteLLM's price map lists no OpenRouter model: the cost is the one OpenRouter reports.
    assert response.usage.cost_usd == pytest.approx(0.0081)
    assert response.usage.deployment.startswith("strong[")
    assert response.usage.fallbacks == 0


async def test_a_failing_openrouter_falls_back_to_another_provider(
    gateway: Gateway, mock: respx.MockRouter
) -> None:
    down = mock.post(OPENROUTER).mock(
        return_value=httpx.Response(503, json={"error": {"message": "no capacity"}})
    )
    backup = mock.post(OPENAI).mock(
        return_value=httpx.Response(200, json=_completion("gpt-4o-mini", "from openai", 50, 7))
    )
    response = await gateway.chat(_ask("strong"))

    assert down.called and backup.called
    assert backup.calls.last.request.headers["authorization"] == "Bearer sk-oa-test"
    assert response.content == "from openai"
    assert response.usage.fallbacks == 1
    assert response.usage.deployment.startswith("backup[")
    assert [a.deployment.split("[")[0] for a in response.usage.failed_attempts] == ["strong"]
    prompt_price, completion_price = _price("gpt-4o-mini")
    assert response.usage.cost_usd == pytest.approx(50 * prompt_price + 7 * completion_price)


def test_selection_rules_pick_by_agent_then_by_complexity() -> None:
    rules = ModelSelection(
        agents={"reviewer": "strong"},
        complexity=[ComplexityRule(max=3, model="cheap"), ComplexityRule(min=8, model="strong")],
    )
    assert choose_model("worker", "default", 2, rules) == "cheap"
    assert choose_model("worker", "default", 9, rules) == "strong"
    assert choose_model("worker", "default", 5, rules) == "default"  # no rule: unchanged
    assert choose_model("worker", "openai/gpt-4o", 2, rules) == "openai/gpt-4o"  # its own pick
    assert choose_model("reviewer", "openai/gpt-4o", 1, rules) == "strong"  # agent rule wins
    with pytest.raises(ValueError, match="min"):
        ComplexityRule(min=7, max=3, model="x")


WORKER = """---
name: worker
model: default
capabilities: [general]
---
You do tasks.
"""

TOML = f"""
[models]
default = "scripted/echo"
cache = "off"
stream = false
num_retries = 0

[[models.model_list]]
model_name = "cheap"
litellm_params = {{ model = "openrouter/{CHEAP}", api_key = "sk-or-test" }}

[[models.model_list]]
model_name = "strong"
litellm_params = {{ model = "openrouter/{STRONG}", api_key = "sk-or-test" }}

[[models.selection.complexity]]
max = 3
model = "cheap"

[[models.selection.complexity]]
min = 8
model = "strong"

[tasks]
poll_seconds = 0.2
venv = false
"""


async def test_tasks_run_on_the_model_their_complexity_selects(
    tmp_path: Path, mock: respx.MockRouter
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        model = json.loads(request.content)["model"]
        prompt, completion, cost = COSTS[model]
        return httpx.Response(
            200, json=_completion(model, f"done by {model}", prompt, completion, cost)
        )

    route = mock.post(OPENROUTER).mock(side_effect=answer)
    root = tmp_path / "team"
    (root / "agents").mkdir(parents=True)
    (root / "orchestra.toml").write_text(TOML)
    (root / "agents" / "worker.agent.md").write_text(WORKER)
    container = await Container.open(
        load_settings(root, env={}), ContainerOptions(refresh_s=None, dispatch=True)
    )
    try:
        easy, _ = await container.tasks.create(TaskDraft(title="Easy", complexity=2), by="t")
        hard, _ = await container.tasks.create(TaskDraft(title="Hard", complexity=9), by="t")
        runs = {}
        for task in (easy, hard):
            while not (row := await container.tasks.tasks.get(task.id)).status.terminal:
                await container.tasks.run_once()
                if row.run_id is not None:
                    await container.runs.wait(RunId(row.run_id))
            assert row.status is TaskStatus.COMPLETE, row.error
            assert row.run_id is not None
            runs[task.id] = await container.runs.store.get_run(RunId(row.run_id))
    finally:
        await container.close()

    sent = sorted(json.loads(call.request.content)["model"] for call in route.calls)
    assert sent == sorted([CHEAP, STRONG])
    for task, model in ((easy, CHEAP), (hard, STRONG)):
        prompt, completion, cost = COSTS[model]
        record = runs[task.id]
        assert record.definition.spec.agents["worker"].model == (
            "cheap" if model == CHEAP else "strong"
        )
        assert f"done by {model}" in str(dict(record.steps["task"].outputs))
        usage = record.usage
        assert (usage.prompt_tokens, usage.completion_tokens) == (prompt, completion)
        assert usage.cost_usd == pytest.approx(cost)
