"""The engine's step runner: one agent answers one step through the model gateway.

The opening messages come from a :class:`~orchestra.agents.prompt.PromptBuilder`
(by default the agent's system prompt plus its skills' bodies, then the step's
instruction, ``${Var}`` already resolved, as the user message). One output
variable receives the answer text. Several output variables ask the model for
a JSON object with exactly those keys (``ChatRequest.response_schema``); the
answer is validated and, if it does not fit, the model is asked once more with
the validation error.

Tools: when the agent lists ``tools:`` and the runner was given a tool
registry, :meth:`GatewayStepRunner.converse` offers the agent's tool schemas
and loops — call the model; run every tool call it asks for (concurrently, in a
task group), append the results as ``tool`` messages; repeat — until the model
answers without tool calls. At most ``max_turns`` model calls per conversation
(the agent file's ``max_turns:``); the budget is checked on the running total
after each call. Forbidden or unknown tools are refused by the registry and the
refusal is what the model reads. The agent's ``tool_choice:`` sets, per
model call of the step's first conversation, whether the model may
(``auto``), must (``required``, or a tool name) or must not (``none``) call a
tool; later calls, and the one asking again for a malformed structured answer,
are ``auto``. The workspace and MCP sessions come from
:mod:`orchestra.agents.toolbox`; the runner keeps what each run opens (its MCP
sessions, :class:`~orchestra.agents.resources.RunResources`) until the engine
calls :meth:`GatewayStepRunner.close_run` (it is a ``RunScopedRunner``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from orchestra.agents.a2a_peer import A2aPeers
from orchestra.agents.prompt import AgentPromptBuilder, PromptBuilder
from orchestra.agents.resources import RunResources
from orchestra.agents.toolbox import RunMcpSessions, StepToolbox, open_toolbox
from orchestra.agents.wait_step import MessageWaiter, run_wait_step
from orchestra.engine.errors import StepBudgetExceeded, StepFailed, over_budget
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId
from orchestra.engine.protocols import StepContext, StepResult, UsageTotals
from orchestra.llm import notices
from orchestra.llm.errors import LLMError, MalformedOutput
from orchestra.llm.types import (
    ChatMessage,
    ChatRequest,
    ChatResponse,
    ModelGateway,
    StreamRestart,
)
from orchestra.tools.protocol import ToolServices, ToolSettings
from orchestra.tools.registry import ToolRegistry


def output_schema(names: tuple[str, ...]) -> dict[str, Any]:
    """JSON schema of an object with exactly ``names`` as string properties."""
    return {
        "type": "object",
        "properties": {name: {"type": "string"} for name in names},
        "required": list(names),
        "additionalProperties": False,
    }


def parse_outputs(text: str | None, names: tuple[str, ...]) -> dict[str, str]:
    """Read the multi-output answer; raise ValueError saying exactly what is wrong."""
    try:
        data = json.loads(text or "")
    except json.JSONDecodeError as exc:
        raise ValueError(f"the answer is not JSON ({exc.msg} at position {exc.pos})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"the answer must be a JSON object, not {type(data).__name__}")
    missing = [name for name in names if name not in data]
    extra = sorted(set(data) - set(names))
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"missing keys {', '.join(missing)}")
        if extra:
            problems.append(f"unexpected keys {', '.join(extra)}")
        raise ValueError("; ".join(problems))
    return {
        name: value if isinstance(value, str) else json.dumps(value)
        for name, value in ((name, data[name]) for name in names)
    }


class _InvalidAnswer(Exception):
    """The gateway refused a structured answer that does not fit the schema."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(reason)
        self.raw = raw
        self.reason = reason


def _usage(response: ChatResponse) -> UsageTotals:
    usage = response.usage
    return UsageTotals(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=usage.cost_usd,
        calls=1,
    )


class GatewayStepRunner:
    """A :class:`~orchestra.engine.protocols.StepRunner` backed by a ``ModelGateway``."""

    def __init__(
        self,
        gateway: ModelGateway,
        *,
        stream: bool = False,
        tools: ToolRegistry | None = None,
        tool_settings: ToolSettings | None = None,
        project_dir: Path | None = None,
        prompts: PromptBuilder | None = None,
        services: ToolServices | None = None,
    ) -> None:
        """``tools`` is the registry agents' ``tools:`` patterns select from; without it
        agents answer without tools. ``prompts`` builds each step's opening messages
        (:class:`~orchestra.agents.prompt.AgentPromptBuilder` by default); ``services``
        gives tools their ``[plugins.*]`` tables, secrets and HTTP transport."""
        self.gateway = gateway
        self.stream = stream
        self.tools = tools
        self.tool_settings = tool_settings or ToolSettings()
        self.project_dir = project_dir
        self.prompts: PromptBuilder = prompts or AgentPromptBuilder()
        self.services = services or ToolServices()
        self.resources = RunResources()
        """What each run keeps open until it ends (MCP sessions, browsers)."""
        self.mcp = RunMcpSessions(self.tool_settings, self.resources)
        self.peers = A2aPeers(self.services)
        """Answers the steps of agents that name a remote A2A agent (``a2a:``)."""
        self.waiter: MessageWaiter | None = None
        """Answers ``Wait for:`` steps from the message bus; set by the runtime that has
        one (:mod:`orchestra.agents.wait_step`)."""

    async def close_run(self, run_id: RunId) -> None:
        """Close the run's resources (MCP sessions...); the engine calls this when it stops
        driving the run."""
        await self.resources.close_run(str(run_id))

    async def aclose(self) -> None:
        """Close the resources of every run (for owners that stop without run ends)."""
        await self.resources.aclose()

    async def run_step(self, ctx: StepContext) -> StepResult:
        if ctx.step.wait_for is not None:  # no model call: the step's output is a message
            return await run_wait_step(ctx, self.waiter)
        if ctx.agent.a2a:
            return await self.peers.run_step(ctx)
        messages = await self.prompts.build(ctx)
        schema = output_schema(ctx.output_vars) if len(ctx.output_vars) > 1 else None
        choice = ctx.agent.tool_choice
        if schema is None:
            response, usage = await self.converse(ctx, messages, schema, choice)
            text = response.content or ""
            return StepResult({ctx.output_vars[0]: text} if ctx.output_vars else {}, usage)
        try:
            response, usage = await self.converse(ctx, messages, schema, choice)
            answer = response.content or ""
            try:
                return StepResult(parse_outputs(answer, ctx.output_vars), usage)
            except ValueError as invalid:
                problem = str(invalid)
        except _InvalidAnswer as invalid:  # the gateway's own schema check refused it
            answer, problem, usage = invalid.raw, invalid.reason, UsageTotals(calls=1)
        await ctx.events.emit(
            EventType.LOG,
            {
                "message": f"answer did not match the outputs ({problem}); asking again",
            },
        )
        messages += [
            ChatMessage(role="assistant", content=answer),
            ChatMessage(
                role="user",
                content=(
                    f"Your answer was invalid: {problem}. Answer again with only a JSON object "
                    f"whose keys are exactly: {', '.join(ctx.output_vars)}."
                ),
            ),
        ]
        try:
            response, more = await self.converse(ctx, messages, schema)
            usage = usage + more
            return StepResult(parse_outputs(response.content, ctx.output_vars), usage)
        except (ValueError, _InvalidAnswer) as second:
            raise StepFailed(
                f"step {ctx.step_id!r}: the model's answer twice failed to provide outputs "
                f"{', '.join(ctx.output_vars)} ({second}); use a stronger model or fewer "
                "outputs for this step",
                retryable=True,
            ) from second

    @contextlib.asynccontextmanager
    async def _toolbox(self, ctx: StepContext) -> AsyncIterator[StepToolbox | None]:
        if self.tools is None or not ctx.agent.tools:
            yield None
            return
        async with open_toolbox(
            ctx, self.tools, self.tool_settings, self.project_dir, self.mcp, self.services
        ) as box:
            yield box

    async def converse(
        self,
        ctx: StepContext,
        messages: list[ChatMessage],
        schema: dict[str, Any] | None,
        tool_choice: tuple[str, ...] = (),
    ) -> tuple[ChatResponse, UsageTotals]:
        """Talk with the model until it answers without tool calls; ``messages`` grows in place.

        ``tool_choice`` holds the choice for each model call (then ``auto``). Returns the
        final response and the usage of every call made.
        """
        async with self._toolbox(ctx) as box:
            if box is None:
                response = await self._call(ctx, messages, schema, None)
                usage = _usage(response)
                self._check_budget(ctx, usage)
                return response, usage
            total = UsageTotals()
            for turn in range(ctx.agent.max_turns):
                choice = tool_choice[turn] if turn < len(tool_choice) else None
                response = await self._call(ctx, messages, schema, box, choice)
                total = total + _usage(response)
                self._check_budget(ctx, total)
                if not response.tool_calls:
                    return response, total
                messages.append(
                    ChatMessage(
                        role="assistant",
                        content=response.content,
                        tool_calls=list(response.tool_calls),
                    )
                )
                messages.extend(await self._run_tools(box, response))
        raise StepFailed(
            f"step {ctx.step_id!r}: agent {ctx.agent.name!r} still wanted tools after "
            f"max_turns={ctx.agent.max_turns} model calls; raise `max_turns:` in "
            f"{ctx.agent.path} or make the instruction narrower",
            retryable=False,
            data={"max_turns": ctx.agent.max_turns},
        )

    @staticmethod
    async def _run_tools(box: StepToolbox, response: ChatResponse) -> list[ChatMessage]:
        calls = response.tool_calls
        if len(calls) == 1:
            return [await box.run(calls[0])]
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(box.run(call)) for call in calls]
        return [task.result() for task in tasks]

    async def _call(
        self,
        ctx: StepContext,
        messages: list[ChatMessage],
        schema: dict[str, Any] | None,
        box: StepToolbox | None,
        tool_choice: str | None = None,
    ) -> ChatResponse:
        """One model call; emits the agent's thought."""
        tools = box.schemas() if box is not None else []
        if tool_choice not in (None, "auto", "required", "none") and tool_choice not in {
            t.name for t in tools
        }:
            raise StepFailed(
                f"step {ctx.step_id!r}: agent {ctx.agent.name!r} has tool_choice {tool_choice!r}, "
                f"but no such tool is offered (offered: {', '.join(t.name for t in tools) or 'none'}); "
                f"fix `tool_choice:` in {ctx.agent.path} or start the MCP server that provides it",
                retryable=False,
            )
        request = ChatRequest(
            model=ctx.agent.model,
            messages=list(messages),
            tools=tools,
            tool_choice=tool_choice if tools else None,
            temperature=ctx.agent.temperature,
            response_schema=schema,
            stream=self.stream,
            cache=ctx.step.cache if ctx.step.cache is not None else ctx.agent.cache,
            timeout_s=ctx.step.timeout_s,
            metadata={
                "run_id": ctx.run_id,
                "step_id": ctx.step_id,
                "attempt": str(ctx.attempt),
                "agent": ctx.agent.name,
                "idempotency_key": ctx.idempotency_key,
            },
        )
        restarts = 0

        async def on_token(text: str) -> None:
            # After a restart the tokens replace those streamed before: say which stream.
            content: dict[str, Any] = (
                {"text": text, "restart": restarts} if restarts else {"text": text}
            )
            await ctx.events.emit(EventType.TOKEN, content)

        async def on_restart(restart: StreamRestart) -> None:
            nonlocal restarts
            restarts = restart.restart
            await ctx.events.emit(
                EventType.LOG,
                {
                    "level": "warning",
                    "message": f"model answer restarted ({restart.reason}); the "
                    f"{restart.discarded_chars} characters streamed so far are void, "
                    f"{restart.model!r} answers anew",
                    "stream_restart": restart.restart,
                },
            )

        async def on_notice(message: str) -> None:  # e.g. the local model serves one call
            await ctx.events.emit(EventType.LOG, {"level": "info", "message": message})

        try:
            with notices.listening(on_notice):
                response = await self.gateway.chat(
                    request, on_token if self.stream else None, on_restart if self.stream else None
                )
        except MalformedOutput as exc:
            if schema is None:
                raise StepFailed(
                    f"step {ctx.step_id!r}: model call failed: {exc}", retryable=exc.retryable
                ) from exc
            raise _InvalidAnswer(str(getattr(exc, "raw", "") or ""), str(exc)) from exc
        except LLMError as exc:
            raise StepFailed(
                f"step {ctx.step_id!r}: model call failed: {exc}",
                retryable=exc.retryable,
                data={"llm_error": type(exc).__name__},
            ) from exc
        await ctx.events.emit(
            EventType.AGENT_THOUGHT,
            {
                "agent": ctx.agent.name,
                "text": response.content or "",
                "model": response.usage.model or ctx.agent.model,
            },
        )
        return response

    @staticmethod
    def _check_budget(ctx: StepContext, usage: UsageTotals) -> None:
        """Fail the step once its calls so far are over its budget (or its agent's)."""
        spent = over_budget(ctx.budget, usage)
        if spent is not None:
            scope = "step" if ctx.step.budget is not None else "agent"
            raise StepBudgetExceeded(ctx.step_id, scope, *spent)
