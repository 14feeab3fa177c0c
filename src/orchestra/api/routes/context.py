"""The context store: ``/context`` CRUD, filtered lists and ranked full-text search.

Roles: viewers read and search; operators add, edit and delete. An entry written here
has the caller's key name as its provenance (``user``); steps write through the
``Remember:`` bullet or the ``context.add`` tool with their run, step and agent.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict

from orchestra.api.deps import Operator, Services, Viewer, audit
from orchestra.api.routes import ERRORS
from orchestra.context import ContextDraft, ContextEntry, ContextFilter, ContextPatch, Provenance

EntryId = Annotated[int, Path(ge=1, le=2**62)]
router = APIRouter(prefix="/context", tags=["context"], responses=ERRORS)


class ContextItem(BaseModel):
    """A stored entry; ``rank`` is set on search results (higher is better)."""

    model_config = ConfigDict(frozen=True)

    id: int
    job_id: str
    job_type: str
    context_data: Any
    tags: list[str]
    provenance: Provenance
    created_at: float
    updated_at: float
    rank: float | None = None


class ContextPage(BaseModel):
    items: list[ContextItem]
    total: int | None = None
    """How many entries match the filters (lists only; a search returns the best ``limit``)."""


def item(entry: ContextEntry) -> ContextItem:
    return ContextItem(
        id=entry.id,
        job_id=entry.job_id,
        job_type=entry.job_type,
        context_data=entry.context_data,
        tags=list(entry.tags),
        provenance=entry.provenance,
        created_at=entry.created_at,
        updated_at=entry.updated_at,
        rank=entry.rank,
    )


@router.post("", response_model=ContextItem, status_code=201)
async def add_context(body: ContextDraft, who: Operator, services: Services) -> ContextItem:
    """Store an entry written by the caller."""
    entry = await services.context.add(body, Provenance(kind="user", by=who.name))
    await audit(services, who, "context.add", str(entry.id), {"job_id": entry.job_id})
    return item(entry)


@router.get("", response_model=ContextPage)
async def list_context(
    who: Viewer,
    services: Services,
    q: Annotated[str | None, Query(max_length=500, description="Full-text search.")] = None,
    job_id: Annotated[str | None, Query(max_length=200)] = None,
    job_type: Annotated[str | None, Query(max_length=100)] = None,
    tag: Annotated[str | None, Query(max_length=64)] = None,
    run_id: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[
        float | None, Query(ge=0, le=1e11, description="Created at or after (UNIX s).")
    ] = None,
    until: Annotated[
        float | None, Query(ge=0, le=1e11, description="Created before (UNIX s).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ContextPage:
    """Entries newest first, or with ``q`` the best matches first; filters narrow both."""
    where = ContextFilter(
        job_id=job_id, job_type=job_type, tag=tag, since=since, until=until, run_id=run_id
    )
    if q is not None and q.strip():
        found = await services.context.search(q, where, limit=limit)
        return ContextPage(items=[item(entry) for entry in found])
    rows = await services.context.list(where, limit=limit, offset=offset)
    total = await services.context.count(where)
    return ContextPage(items=[item(entry) for entry in rows], total=total)


@router.get("/{entry_id}", response_model=ContextItem)
async def get_context(entry_id: EntryId, who: Viewer, services: Services) -> ContextItem:
    return item(await services.context.get(entry_id))


@router.put("/{entry_id}", response_model=ContextItem)
async def edit_context(
    entry_id: EntryId, body: ContextPatch, who: Operator, services: Services
) -> ContextItem:
    """Change the fields given (the search index follows)."""
    entry = await services.context.update(entry_id, body)
    await audit(services, who, "context.edit", str(entry_id), {})
    return item(entry)


@router.delete("/{entry_id}", status_code=204)
async def delete_context(entry_id: EntryId, who: Operator, services: Services) -> Response:
    await services.context.delete(entry_id)
    await audit(services, who, "context.delete", str(entry_id), {})
    return Response(status_code=204)
