"""A run's events: appended through the group commit (numbered there, in the same
transaction), read back by sequence number.

Publishing committed events to sinks is the facade's single publish point
(``SqlRunStore._publish``), called by the writer after each commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import Connection, select

from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.protocols import EventDraft
from orchestra.store.group_commit import Operation, Tx, drafts_of
from orchestra.store.tables import events


def append(run_id: RunId, drafts: Iterable[EventDraft]) -> Operation[None]:
    rows = drafts_of(run_id, drafts)

    def operation(tx: Tx) -> None:
        tx.drafts.extend(rows)

    return operation


def read(
    conn: Connection, run_id: RunId, after_seq: int, limit: int | None
) -> list[ExecutionEvent]:
    """The run's events after ``after_seq``, in order (at most ``limit``)."""
    query = (
        select(
            events.c.seq,
            events.c.type,
            events.c.step_id,
            events.c.ts,
            events.c.content_json,
        )
        .where(events.c.run_id == run_id, events.c.seq > after_seq)
        .order_by(events.c.seq)
    )
    if limit is not None:
        query = query.limit(limit)
    return [
        ExecutionEvent(
            EventType(row.type),
            row.ts,
            run_id,
            StepId(row.step_id) if row.step_id else None,
            row.seq,
            json.loads(row.content_json),
        )
        for row in conn.execute(query)
    ]
