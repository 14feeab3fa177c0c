"""``tool_choice:`` from the agent file reaches the model, one entry per model call.

A real OpenAI-compatible server on 127.0.0.1 (tests/llm/fake_openai.py) stands
in for a hosted provider and records every request body, so this checks what
LiteLLM actually sends over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestra.agents.step_runner import GatewayStepRunner
from orchestra.definitions.specs import AgentSpec, StepSpec
from orchestra.engine.errors import StepFailed
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.protocols import StepContext
from orchestra.llm.config import GatewayConfig
from orchestra.llm.gateway import build_gateway
from orchestra.tools.builtin import register_builtins
from orchestra.tools.protocol import ToolSettings
from orchestra.tools.registry import ToolRegistry
from tests.llm.fake_openai import FakeOpenAI


class Events:
    async def emit(self, type: EventType, content: dict[str, Any]) -> None:
        pass


@pytest.fixture
def hosted() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI("hosted").start()
    yield server
    server.stop()


def step(tool_choice: tuple[str, ...], max_turns: int) -> StepContext:
    agent = AgentSpec(
        name="worker",
        model="hosted",
        system_prompt="You work with tools.",
        tools=("files.*", "shell"),
        tool_choice=tool_choice,
        max_turns=max_turns,
        path=Path("agents/worker.agent.md"),
    )
    spec = StepSpec(id="s", agent_name="worker", instruction="Do it.", output_vars=("Answer",))
    return StepContext(
        run_id=RunId("run-1"),
        step_id=StepId("s"),
        attempt=1,
        step=spec,
        agent=agent,
        instruction="Do it.",
        inputs={},
        output_vars=("Answer",),
        idempotency_key="run-1:s",
        events=Events(),
    )


async def run(hosted: FakeOpenAI, tmp_path: Path, ctx: StepContext) -> str | None:
    """Run the step; return the failure message (the fake server always calls a tool)."""
    registry = ToolRegistry()
    register_builtins(registry)
    gateway = build_gateway(
        GatewayConfig(cache="off", num_retries=0, model_list=[hosted.deployment("hosted")])
    )
    runner = GatewayStepRunner(
        gateway, tools=registry, tool_settings=ToolSettings(workspace_root=tmp_path)
    )
    try:
        await runner.run_step(ctx)
    except StepFailed as failed:
        return str(failed)
    finally:
        await runner.aclose()
        await gateway.close()
    return None


async def test_each_model_call_gets_its_tool_choice_then_auto(
    hosted: FakeOpenAI, tmp_path: Path
) -> None:
    failure = await run(hosted, tmp_path, step(("shell", "required", "none"), max_turns=4))
    assert failure is not None and "max_turns=4" in failure
    sent = [body.get("tool_choice") for body in hosted.requests]
    assert sent == [
        {"type": "function", "function": {"name": "shell"}},
        "required",
        "none",
        None,  # past the list: auto, i.e. the provider's default
    ]
    assert all(body["tools"] for body in hosted.requests)  # tools stay described


async def test_a_named_tool_that_is_not_offered_fails_the_step_clearly(
    hosted: FakeOpenAI, tmp_path: Path
) -> None:
    failure = await run(hosted, tmp_path, step(("checklist.add",), max_turns=2))
    assert failure is not None
    assert "tool_choice 'checklist.add'" in failure and "offered: files.append" in failure
    assert hosted.requests == []
