"""``context.search`` and ``context.add``: agents read and write the context store.

Built around a :class:`ContextSource` (the runtime's repository). The built-ins register
them around :class:`NoContext` so ``orchestra validate`` knows the names everywhere; a
process with a database replaces them. An entry an agent adds carries its run, step and
agent as provenance.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from orchestra.context.entries import (
    ANY_ENTRY,
    ContextEntry,
    ContextFilter,
    Provenance,
    validate_draft,
)
from orchestra.context.errors import ContextError
from orchestra.context.protocols import ContextSource
from orchestra.tools.protocol import Permission, Tool, ToolContext, ToolOutput, tool


class NoContext:
    """The source of a process without a context store: every call says so."""

    async def search(
        self, query: str, where: ContextFilter = ANY_ENTRY, *, limit: int = 10
    ) -> list[ContextEntry]:
        raise _Unavailable

    async def list(
        self, where: ContextFilter = ANY_ENTRY, *, limit: int = 100, offset: int = 0
    ) -> list[ContextEntry]:
        raise _Unavailable

    async def add(self, draft: Any, provenance: Provenance) -> ContextEntry:
        raise _Unavailable


class _Unavailable(ContextError):
    """This process has no context store (never reaches a user: the tool reports it)."""

    code = "context_unavailable"


class SearchArgs(BaseModel):
    query: str = Field(default="", max_length=500, description="Words to find; empty: newest.")
    job_type: str | None = Field(default=None, max_length=100, description="Only this job type.")
    job_id: str | None = Field(default=None, max_length=200, description="Only this job.")
    top_k: int = Field(default=5, ge=1, le=50)


class AddArgs(BaseModel):
    job_type: str = Field(max_length=100, description="The kind of job, e.g. 'prospecting'.")
    context_data: Any = Field(description="What to remember: any JSON value.")
    job_id: str | None = Field(
        default=None, max_length=200, description="The job; defaults to this run's id."
    )
    tags: list[str] = Field(default_factory=list, max_length=20)


def render(entry: ContextEntry) -> str:
    """One entry for a model to read: its id, kind, provenance and data."""
    data = json.dumps(entry.context_data, ensure_ascii=False, separators=(",", ":"))
    return (
        f"[context #{entry.id} · {entry.job_type} · job {entry.job_id} · "
        f"from {entry.provenance.label()}]\n{data}"
    )


def make_context_tools(source: ContextSource) -> tuple[Tool, Tool]:
    @tool("context.search", permission=Permission.READ)
    async def context_search(args: SearchArgs, ctx: ToolContext) -> ToolOutput:
        """Search what earlier jobs stored (search parameters, results, user feedback),
        best match first."""
        where = ContextFilter(job_type=args.job_type, job_id=args.job_id)
        try:
            if args.query.strip():
                found = await source.search(args.query, where, limit=args.top_k)
            else:
                found = await source.list(where, limit=args.top_k)
        except ContextError as error:
            return ToolOutput(text=f"context search failed: {error}", is_error=True)
        if not found:
            return ToolOutput(text="no context entries match", data={"ids": []})
        return ToolOutput(
            text="\n\n".join(render(e) for e in found), data={"ids": [e.id for e in found]}
        )

    @tool("context.add", permission=Permission.WRITE)
    async def context_add(args: AddArgs, ctx: ToolContext) -> ToolOutput:
        """Store something later jobs should know (e.g. which searches worked)."""
        try:
            draft = validate_draft(
                {
                    "job_id": args.job_id or ctx.run_id,
                    "job_type": args.job_type,
                    "context_data": args.context_data,
                    "tags": args.tags,
                }
            )
            entry = await source.add(
                draft,
                Provenance(
                    kind="step",
                    by=ctx.agent,
                    run_id=ctx.run_id,
                    step_id=ctx.step_id,
                    agent=ctx.agent,
                ),
            )
        except ContextError as error:
            return ToolOutput(text=f"not stored: {error}", is_error=True)
        return ToolOutput(text=f"stored as context #{entry.id}", data={"id": entry.id})

    return context_search, context_add
