"""Context in and out of steps: enrich an agent's prompt, remember a step's outputs.

:class:`ContextPromptBuilder` wraps the default :class:`PromptBuilder`: when the agent's
front matter has ``context: {job_type, query, top_k}``, it searches the store (the
query's ``${Var}`` resolved from the step's inputs) and appends the entries, each marked
with who wrote it, to the system message, newest or best first, until the token budget
is spent. The model thus sees where each fact came from.

:class:`RememberingRunner` wraps the step runner: after a step with
``* **Remember:** job_type=X`` succeeds, its inputs and outputs are stored under ``X`` with the
run, step and agent as provenance, in the job of the run (``job_id`` = the run id, or
the run's ``context_job`` input when it has one: the planner passes the command's job).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from orchestra.agents.prompt import PromptBuilder
from orchestra.context.entries import ContextDraft, ContextEntry, ContextFilter, Provenance
from orchestra.context.errors import ContextError
from orchestra.context.protocols import ContextSource
from orchestra.context.tools import render
from orchestra.engine.ids import RunId
from orchestra.engine.protocols import RunScopedRunner, StepContext, StepResult, StepRunner
from orchestra.llm.types import ChatMessage

log = logging.getLogger(__name__)

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
CHARS_PER_TOKEN = 4
JOB_INPUT = "context_job"
"""A run input naming the job its remembered outputs belong to."""
HEADING = "## Context from earlier jobs"


def resolve_query(query: str, inputs: Mapping[str, str]) -> str:
    """``query`` with each ``${Var}`` replaced by the step's input (unknown: empty)."""
    return _VAR.sub(lambda m: str(inputs.get(m.group(1), "")), query)


def within_budget(entries: list[ContextEntry], max_tokens: int) -> list[str]:
    """The rendered entries that fit in ``max_tokens`` (an entry is never cut in half)."""
    budget = max_tokens * CHARS_PER_TOKEN
    kept: list[str] = []
    for entry in entries:
        text = render(entry)
        if len(text) > budget:
            break
        kept.append(text)
        budget -= len(text) + 2
    return kept


class ContextPromptBuilder:
    """The inner builder's messages plus the agent's requested context (see the module)."""

    def __init__(self, inner: PromptBuilder, source: ContextSource) -> None:
        self.inner = inner
        self.source = source

    async def build(self, ctx: StepContext) -> list[ChatMessage]:
        messages: list[ChatMessage] = await self.inner.build(ctx)
        wanted = ctx.agent.context
        if wanted is None:
            return messages
        query = resolve_query(wanted.query, ctx.inputs).strip()
        where = ContextFilter(job_type=wanted.job_type)
        try:
            if query:
                entries = await self.source.search(query, where, limit=wanted.top_k)
            else:
                entries = await self.source.list(where, limit=wanted.top_k)
        except ContextError as error:  # the step still runs, without context
            log.warning("context for step %s not read: %s", ctx.step_id, error)
            return messages
        kept = within_budget(entries, wanted.max_tokens)
        if not kept:
            return messages
        block = (
            f"{HEADING}\n\nEach entry says which job and who (a user, or a step and its "
            "agent) wrote it.\n\n" + "\n\n".join(kept)
        )
        first = messages[0] if messages else None
        if first is not None and first.role == "system":
            joined = f"{first.content}\n\n{block}" if first.content else block
            return [ChatMessage(role="system", content=joined), *messages[1:]]
        return [ChatMessage(role="system", content=block), *messages]


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


class RememberingRunner:
    """Runs steps with ``inner``; stores a ``Remember:`` step's outputs on success."""

    def __init__(self, inner: StepRunner, source: ContextSource) -> None:
        self.inner = inner
        self.source = source

    async def run_step(self, ctx: StepContext) -> StepResult:
        result = await self.inner.run_step(ctx)
        job_type = ctx.step.remember
        if job_type:
            # The inputs are the job's parameters (what was searched), the outputs its results.
            data = {
                "inputs": dict(ctx.inputs),
                "outputs": {name: _value(value) for name, value in result.outputs.items()},
            }
            draft = ContextDraft(
                job_id=str(ctx.inputs.get(JOB_INPUT) or ctx.run_id),
                job_type=job_type,
                context_data=data,
                tags=(f"step:{ctx.step_id}",) if len(ctx.step_id) <= 59 else (),
            )
            await self.source.add(
                draft,
                Provenance(
                    kind="step",
                    by=ctx.agent.name,
                    run_id=str(ctx.run_id),
                    step_id=str(ctx.step_id),
                    agent=ctx.agent.name,
                ),
            )
        return result

    async def close_run(self, run_id: RunId) -> None:
        if isinstance(self.inner, RunScopedRunner):
            await self.inner.close_run(run_id)
