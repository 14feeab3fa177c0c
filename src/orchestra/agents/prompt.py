"""How a step's prompt is built: the :class:`PromptBuilder` seam and today's builder.

The step runner asks its prompt builder for the opening messages of a step's
conversation and never assembles them itself, so what goes into a prompt can
grow without touching the agent loop: the context store will enrich prompts
with what it retrieves for the step, by wrapping or replacing the default
builder (``GatewayStepRunner(prompts=...)``).

:class:`AgentPromptBuilder` (the default): a system message with the agent's
system prompt followed by each skill's body under ``## Skill: <name>``, then the
step's instruction (``${Var}`` already resolved) as the user message. When the
step writes several outputs, the user message also asks for a JSON object with
exactly those keys.
"""

from __future__ import annotations

from typing import Protocol

from orchestra.engine.protocols import StepContext
from orchestra.llm.types import ChatMessage


class PromptBuilder(Protocol):
    """Builds the messages a step's conversation starts with.

    Called once per attempt, before the first model call; it may read anything
    (a context store, the run's earlier outputs) but must not emit the step's
    events or call the model. The runner appends the answers and tool results.
    """

    async def build(self, ctx: StepContext) -> list[ChatMessage]: ...


def system_prompt(ctx: StepContext) -> str:
    """The agent's system prompt followed by each skill's body under its name."""
    parts = [ctx.agent.system_prompt.strip()]
    for skill in ctx.agent.skills:
        parts.append(f"## Skill: {skill.name}\n\n{skill.body.strip()}")
    return "\n\n".join(part for part in parts if part)


def user_message(ctx: StepContext) -> str:
    """The step's instruction, plus the JSON answer format when it has several outputs."""
    if len(ctx.output_vars) <= 1:
        return ctx.instruction
    return (
        f"{ctx.instruction}\n\nAnswer with a JSON object whose keys are exactly: "
        f"{', '.join(ctx.output_vars)} (each value a string)."
    )


class AgentPromptBuilder:
    """Today's prompt: the agent (system prompt and skills) and the step's instruction."""

    async def build(self, ctx: StepContext) -> list[ChatMessage]:
        return [
            ChatMessage(role="system", content=system_prompt(ctx)),
            ChatMessage(role="user", content=user_message(ctx)),
        ]


__all__ = ["AgentPromptBuilder", "PromptBuilder", "system_prompt", "user_message"]
