"""API keys and the audit log (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from orchestra.api import schemas, views
from orchestra.api.deps import Admin, Services, audit
from orchestra.api.errors import ApiError
from orchestra.api.routes import ERRORS

router = APIRouter(tags=["admin"], responses=ERRORS)


@router.get("/keys", response_model=list[schemas.Key])
async def list_keys(who: Admin, services: Services) -> list[schemas.Key]:
    """Every key, revoked ones included; secrets are never shown again."""
    return [views.key(row) for row in await services.keys.list()]


@router.post("/keys", response_model=schemas.CreatedKey, status_code=201)
async def create_key(body: schemas.CreateKey, who: Admin, services: Services) -> schemas.CreatedKey:
    """Create a key; the answer holds its secret, once."""
    row, secret = await services.keys.create(body.name, body.role)
    await audit(services, who, "key.create", row.id, {"name": row.name, "role": row.role})
    return schemas.CreatedKey(**views.key(row).model_dump(), key=secret)


@router.delete("/keys/{key_id}", response_model=schemas.Key)
async def revoke_key(key_id: str, who: Admin, services: Services) -> schemas.Key:
    """Revoke a key at once (idempotent). The last active admin key cannot be revoked
    (409): nobody could manage keys over the API afterwards."""
    active = [row for row in await services.keys.list() if row.revoked_at is None]
    admins = [row.id for row in active if row.role == "admin"]
    if admins == [key_id]:
        raise ApiError(
            409,
            "conflict",
            f"key {key_id!r} is the last active admin key; create another admin key "
            "(POST /api/v1/keys with role admin) before revoking this one",
        )
    row = await services.keys.revoke(key_id)
    await audit(services, who, "key.revoke", key_id)
    return views.key(row)


@router.get("/audit", response_model=schemas.AuditPage)
async def read_audit(
    who: Admin,
    services: Services,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(pattern=views.AUDIT_CURSOR)] = None,
) -> schemas.AuditPage:
    """State-changing calls, newest first: who (key id), what, on what, when."""
    before = views.audit_position(cursor) if cursor else None
    rows = await services.audit.page(limit + 1, before)
    more = len(rows) > limit
    rows = rows[:limit]
    return schemas.AuditPage(
        items=[
            schemas.AuditEntry(
                at=r.at, key_id=r.key_id, action=r.action, target=r.target, details=r.details
            )
            for r in rows
        ],
        next_cursor=views.audit_cursor(rows[-1].id) if more and rows else None,
    )
