"""Parallel calls on the embedded model: a pool of llama.cpp contexts decodes them at once
(``[models.local] parallel``, default 2), and a call that must queue says so in its step's
log. Real packaged model, real container; bounded by the answers' token caps, not by time.

"At once" is read from the order of the streamed pieces (the gateway's ``on_token``),
never from a clock: two calls that take turns deliver all of one answer's pieces before
the other's first, two that decode together deliver them interleaved. (A run's stored
``token`` events are coalesced per 256 characters, too coarse to show it for short
answers, so the workflow tests check the queue notice instead.)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from orchestra.engine.events import EventType
from orchestra.llm import notices
from orchestra.llm.config import GatewayConfig, LocalModelConfig
from orchestra.llm.gateway import Gateway, build_gateway
from orchestra.llm.local import queue_notice
from orchestra.llm.types import ChatMessage, ChatRequest
from tests.llm.test_local_answers import NOTES, SUMMARY_AGENT, run_workflow

PARALLEL_WORKFLOW = """---
name: pair
description: Two summaries of the same notes, side by side.
inputs:
  Notes: {required: true}
---
## Step: short
* **Agent:** [Summariser](../agents/summariser.agent.md)
* **Input:** ${Notes}
* **Output:** ${Short}

Summarise these notes in one sentence.

Notes: ${Notes}

## Step: people
* **Agent:** [Summariser](../agents/summariser.agent.md)
* **Input:** ${Notes}
* **Output:** ${People}

Name the people in these notes and what each will do.

Notes: ${Notes}
"""


def interleaved(labels: list[str], a: str, b: str) -> bool:
    """Whether ``b`` shows up between two of ``a``'s pieces and ``a`` between two of ``b``'s:
    both made progress while the other was under way."""

    def inside(outer: str, inner: str) -> bool:
        spots = [i for i, label in enumerate(labels) if label == outer]
        return len(spots) > 1 and inner in labels[spots[0] : spots[-1]]

    return inside(a, b) and inside(b, a)


def test_interleaving_is_read_from_the_order_of_pieces() -> None:
    assert interleaved(list("abab"), "a", "b")
    assert not interleaved(list("aaabbb"), "a", "b")
    assert not interleaved(list("aabbba"), "a", "b")  # b ran while a waited: not both


async def test_a_notice_reaches_the_listener_of_its_call_only() -> None:
    heard: list[str] = []

    async def listener(message: str) -> None:
        heard.append(message)

    await notices.tell("before")
    with notices.listening(listener):
        await notices.tell("during")
    await notices.tell("after")
    assert heard == ["during"]


@pytest.fixture
async def gateways() -> AsyncIterator[dict[int, Gateway]]:
    built = {
        size: build_gateway(
            GatewayConfig(
                cache="off", timeout_s=None, local=LocalModelConfig(n_ctx=2048, parallel=size)
            )
        )
        for size in (1, 2)
    }
    yield built
    for gateway in built.values():
        await gateway.close()


async def two_streams(gateway: Gateway) -> tuple[list[str], dict[str, list[str]]]:
    """Two streamed calls started together: the order their pieces arrived in (by call),
    and the notices each call heard."""
    order: list[str] = []
    heard: dict[str, list[str]] = {"a": [], "b": []}
    prompts = {
        "a": "Describe a lighthouse on a stormy night in a few sentences.",
        "b": "Describe a busy market in a harbour town in a few sentences.",
    }

    async def call(label: str) -> None:
        async def on_token(delta: str) -> None:
            order.append(label)

        async def listener(message: str) -> None:
            heard[label].append(message)

        request = ChatRequest(
            model="local",
            messages=[ChatMessage(role="user", content=prompts[label])],
            temperature=0.0,
            max_tokens=60,
        )
        with notices.listening(listener):
            await gateway.chat(request, on_token=on_token)

    await asyncio.gather(call("a"), call("b"))
    return order, heard


@pytest.mark.slow
@pytest.mark.timeout(0)  # bounded by tokens: six answers of <= 60 tokens
async def test_two_calls_decode_at_once_on_a_pool_of_two_and_take_turns_on_one(
    gateways: dict[int, Gateway],
) -> None:
    # The pool loads its second context when a second call first needs it, and that call
    # waits for the load (seconds on a loaded machine) while the first one decodes; from
    # then on both contexts are there.
    order, heard = await two_streams(gateways[2])
    assert heard == {"a": [], "b": []}  # loading a context is not queueing
    # Two threads on a loaded machine may still run one after the other for a whole short
    # answer (the OS decides): up to three pairs, one of which must overlap. A pool that
    # serialises calls never does, as the pool of one below shows.
    orders = []
    for _ in range(3):
        order, heard = await two_streams(gateways[2])
        assert heard == {"a": [], "b": []}
        orders.append(order)
        if interleaved(order, "a", "b"):
            break
    assert any(interleaved(order, "a", "b") for order in orders), orders

    order, heard = await two_streams(gateways[1])
    assert not interleaved(order, "a", "b"), order  # parallel = 1 is honoured
    first = order[0]
    second = "b" if first == "a" else "a"
    assert order == [first] * order.count(first) + [second] * order.count(second)
    assert heard[first] == [] and heard[second] == [queue_notice(1)]


def pair_project(root: Path, toml: str) -> Path:
    (root / "agents").mkdir(parents=True)
    (root / "workflows").mkdir()
    (root / "orchestra.toml").write_text(toml, encoding="utf-8")
    (root / "agents" / "summariser.agent.md").write_text(SUMMARY_AGENT, encoding="utf-8")
    (root / "workflows" / "pair.workflow.md").write_text(PARALLEL_WORKFLOW, encoding="utf-8")
    return root


def queue_notices(events: list[Any]) -> list[Any]:
    """The queue notices logged by the run's steps."""
    return [
        e
        for e in events
        if e.type is EventType.LOG and "serves" in str(e.content.get("message", ""))
    ]


@pytest.mark.slow
@pytest.mark.timeout(0)  # bounded by tokens (each answer's cap), not by time
async def test_parallel_steps_on_the_default_pool_do_not_queue(tmp_path: Path) -> None:
    project = pair_project(tmp_path, '[models]\ndefault = "local"\n')
    events = await run_workflow(project, "pair", {"Notes": NOTES})
    assert queue_notices(events) == []


@pytest.mark.slow
@pytest.mark.timeout(0)  # bounded by tokens (each answer's cap), not by time
async def test_parallel_steps_on_one_context_say_they_run_one_after_another(
    tmp_path: Path,
) -> None:
    toml = '[models]\ndefault = "local"\n\n[models.local]\nparallel = 1\n'
    project = pair_project(tmp_path, toml)
    queued = queue_notices(await run_workflow(project, "pair", {"Notes": NOTES}))
    assert [e.content["message"] for e in queued] == [queue_notice(1)]
    assert queued[0].step_id in {"short", "people"}
