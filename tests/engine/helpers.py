"""Builders for hand-made workflows and a recording step runner (the engine's plug point)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from orchestra.definitions.specs import AgentSpec, InputSpec, StepSpec, WorkflowSpec
from orchestra.engine.events import EventType
from orchestra.engine.protocols import StepContext, StepResult, UsageTotals

AGENT = AgentSpec(
    name="worker",
    model="scripted/echo",
    system_prompt="You work.",
    path=Path("agents/worker.agent.md"),
)


def step(
    step_id: str,
    *,
    deps: tuple[str, ...] = (),
    reads: tuple[str, ...] = (),
    writes: tuple[str, ...] | None = None,
    instruction: str | None = None,
    **extra: object,
) -> StepSpec:
    outputs = writes if writes is not None else (f"{step_id}_out",)
    text = (
        instruction
        if instruction is not None
        else f"do {step_id} " + " ".join(f"${{{name}}}" for name in reads)
    )
    return StepSpec(
        id=step_id,
        agent_name="worker",
        instruction=text,
        input_vars=reads,
        output_vars=outputs,
        dependencies=deps,
        **extra,
    )  # type: ignore[arg-type]


def workflow(*steps: StepSpec, inputs: tuple[InputSpec, ...] = (), **extra: object) -> WorkflowSpec:
    agents = {"worker": AGENT}
    return WorkflowSpec(
        name="test",
        steps=steps,
        inputs=inputs,
        agents=agents,
        path=Path("workflows/test.workflow.md"),
        source_hash="abc",
        **extra,
    )  # type: ignore[arg-type]


def chain(n: int) -> WorkflowSpec:
    steps = [step("s0")]
    for index in range(1, n):
        steps.append(step(f"s{index}", deps=(f"s{index - 1}",), reads=(f"s{index - 1}_out",)))
    return workflow(*steps)


Behaviour = Callable[[StepContext], Awaitable[dict[str, str] | None]]


class RecordingRunner:
    """Records starts/finishes and the peak number of steps in flight; behaviour per step id."""

    def __init__(self, behaviours: dict[str, Behaviour] | None = None) -> None:
        self.behaviours = behaviours or {}
        self.log: list[tuple[str, str]] = []
        self.contexts: dict[str, list[StepContext]] = {}
        self.in_flight = 0
        self.peak = 0

    async def run_step(self, ctx: StepContext) -> StepResult:
        self.log.append(("start", ctx.step_id))
        self.contexts.setdefault(ctx.step_id, []).append(ctx)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await ctx.events.emit(
                EventType.AGENT_THOUGHT, {"text": f"thinking about {ctx.step_id}"}
            )
            behaviour = self.behaviours.get(ctx.step_id)
            outputs = await behaviour(ctx) if behaviour is not None else None
            if outputs is None:
                outputs = {name: f"{ctx.step_id}:{ctx.instruction}" for name in ctx.output_vars}
            return StepResult(outputs, UsageTotals(prompt_tokens=3, completion_tokens=2, calls=1))
        finally:
            self.in_flight -= 1
            self.log.append(("finish", ctx.step_id))


def gate() -> tuple[asyncio.Event, Behaviour]:
    """A behaviour that blocks until the returned event is set."""
    event = asyncio.Event()

    async def wait(ctx: StepContext) -> None:
        await event.wait()
        return None

    return event, wait


async def until(predicate: Callable[[], Awaitable[bool]] | Callable[[], bool]) -> None:
    """Poll ``predicate`` (sync or async) until it is true; fail after about 10 s."""
    for _ in range(5000):
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.002)
    raise AssertionError("condition never became true")
