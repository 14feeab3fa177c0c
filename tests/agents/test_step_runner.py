"""GatewayStepRunner through the real gateway with scripted models."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from orchestra.agents.step_runner import GatewayStepRunner
from orchestra.definitions.specs import AgentSpec, SkillSpec, StepSpec
from orchestra.engine.errors import StepFailed
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.protocols import StepContext
from orchestra.llm.config import GatewayConfig
from orchestra.llm.gateway import Gateway, build_gateway
from orchestra.llm.scripted import Reply


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[EventType, dict[str, Any]]] = []

    async def emit(self, type: EventType, content: dict[str, Any]) -> None:
        self.seen.append((type, content))


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    built = build_gateway(GatewayConfig(cache="off", num_retries=0))
    yield built
    await built.close()


def context(model: str, outputs: tuple[str, ...], events: Events) -> StepContext:
    skill = SkillSpec(name="style", body="Be brief.", path=Path("skills/style.md"))
    agent = AgentSpec(
        name="writer",
        model=model,
        system_prompt="You write.",
        skills=(skill,),
        path=Path("agents/writer.agent.md"),
    )
    step = StepSpec(
        id="s", agent_name="writer", instruction="Write about owls.", output_vars=outputs
    )
    return StepContext(
        run_id=RunId("r"),
        step_id=StepId("s"),
        attempt=1,
        step=step,
        agent=agent,
        instruction="Write about owls.",
        inputs={},
        output_vars=outputs,
        idempotency_key="r:s",
        events=events,
    )


async def test_one_output_gets_the_answer_text(gateway: Gateway) -> None:
    events = Events()
    result = await GatewayStepRunner(gateway).run_step(context("scripted/echo", ("Note",), events))
    assert result.outputs == {"Note": "echo: Write about owls."}
    assert result.usage.calls == 1
    system = gateway.scripts.calls("echo")[0][0]["content"]
    assert "You write." in system
    assert "Be brief." in system
    assert events.seen[0][0] is EventType.AGENT_THOUGHT


async def test_several_outputs_retry_once_with_the_validation_error(gateway: Gateway) -> None:
    gateway.scripts.register("json", [Reply(text='{"A": "1"}'), Reply(text='{"A": "1", "B": "2"}')])
    events = Events()
    result = await GatewayStepRunner(gateway).run_step(context("scripted/json", ("A", "B"), events))
    assert result.outputs == {"A": "1", "B": "2"}
    assert result.usage.calls == 2
    second = gateway.scripts.calls("json")[1]
    assert "invalid" in second[-1]["content"]
    assert any(t is EventType.LOG for t, _ in events.seen)


async def test_several_outputs_fail_after_two_bad_answers(gateway: Gateway) -> None:
    gateway.scripts.register("bad", [Reply(text="no json"), Reply(text="still none")])
    with pytest.raises(StepFailed, match="twice failed") as caught:
        await GatewayStepRunner(gateway).run_step(context("scripted/bad", ("A", "B"), Events()))
    assert caught.value.retryable


async def test_gateway_errors_become_step_failures(gateway: Gateway) -> None:
    gateway.scripts.register("down", [Reply(fail="auth")])
    with pytest.raises(StepFailed) as caught:
        await GatewayStepRunner(gateway).run_step(context("scripted/down", ("A",), Events()))
    assert not caught.value.retryable
