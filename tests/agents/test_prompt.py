"""The PromptBuilder seam: the step runner's opening messages come from an injected builder.

Through the real gateway with the scripted echo model, which answers from the last
user message and records every request it got.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from orchestra.agents.prompt import AgentPromptBuilder, PromptBuilder
from orchestra.agents.step_runner import GatewayStepRunner
from orchestra.engine.protocols import StepContext
from orchestra.llm.config import GatewayConfig
from orchestra.llm.gateway import Gateway, build_gateway
from orchestra.llm.types import ChatMessage
from tests.agents.test_step_runner import Events, context


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    built = build_gateway(GatewayConfig(cache="off", num_retries=0))
    yield built
    await built.close()


class Enriching:
    """What the context store will do: the default prompt plus what it knows."""

    def __init__(self, known: str) -> None:
        self.known = known
        self.default = AgentPromptBuilder()
        self.built_for: list[str] = []

    async def build(self, ctx: StepContext) -> list[ChatMessage]:
        self.built_for.append(ctx.step_id)
        system, user = await self.default.build(ctx)
        enriched = f"{system.content}\n\n## Context\n\n{self.known}"
        return [ChatMessage(role="system", content=enriched), user]


async def test_the_default_builder_is_the_agent_and_the_instruction(gateway: Gateway) -> None:
    ctx = context("scripted/echo", ("Note",), Events())
    messages = await AgentPromptBuilder().build(ctx)
    assert [(m.role, m.content) for m in messages] == [
        ("system", "You write.\n\n## Skill: style\n\nBe brief."),
        ("user", "Write about owls."),
    ]
    several = await AgentPromptBuilder().build(context("scripted/echo", ("A", "B"), Events()))
    assert several[1].content.endswith("keys are exactly: A, B (each value a string).")
    await GatewayStepRunner(gateway).run_step(ctx)  # the runner's default is that builder
    sent = gateway.scripts.calls("echo")[0]
    assert [(m["role"], m["content"]) for m in sent] == [(m.role, m.content) for m in messages]


async def test_an_injected_builder_shapes_what_the_model_reads(gateway: Gateway) -> None:
    builder = Enriching("Owls hunt at night.")
    prompts: PromptBuilder = builder
    runner = GatewayStepRunner(gateway, prompts=prompts)
    result = await runner.run_step(context("scripted/echo", ("Note",), Events()))
    assert builder.built_for == ["s"]
    assert result.outputs == {"Note": "echo: Write about owls."}
    system = gateway.scripts.calls("echo")[0][0]["content"]
    assert system.endswith("## Context\n\nOwls hunt at night.")
    assert "Be brief." in system
