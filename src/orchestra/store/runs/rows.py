"""Row mapping: rows read in the column orders of :mod:`.statements` become the
engine's records.

Rows are positional (the hot-path reads return DBAPI tuples, not SQLAlchemy rows),
so each mapper names its column order once, here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from orchestra.engine.ids import StepId
from orchestra.engine.protocols import (
    ApprovalRecord,
    RunDefinition,
    RunRecord,
    StepRecord,
    UsageTotals,
)
from orchestra.engine.states import RunStatus, StepStatus

RunRows = tuple[Sequence[Any], list[Sequence[Any]], list[Sequence[Any]], str | None]
"""A run row, its step rows, its approval rows, and the spec JSON unless cached."""


def loads(text: str | None) -> Any:
    """A stored JSON column; ``None`` stays ``None``."""
    return None if text is None else json.loads(text)


def approval(row: Sequence[Any]) -> ApprovalRecord:
    """From a row in ``APPROVAL_COLUMNS`` order."""
    step_id, requested_at, decision, decided_by, reason, decided_at = row
    return ApprovalRecord(StepId(step_id), requested_at, decision, decided_by, reason, decided_at)


def step(row: Sequence[Any]) -> StepRecord:
    """From a row in ``STEP_COLUMNS`` order."""
    return StepRecord(
        StepId(row[0]),
        StepStatus(row[1]),
        row[2],
        row[3],
        row[4],
        row[5],
        loads(row[6]) or {},
        UsageTotals.from_json(loads(row[7])),
        loads(row[8]),
        row[9],
        row[10],
    )


def run_record(
    definition: RunDefinition,
    run: Sequence[Any],
    step_rows: Iterable[Sequence[Any]],
    approval_rows: Iterable[Sequence[Any]],
) -> RunRecord:
    """From rows in ``RUN_COLUMNS``, ``STEP_COLUMNS`` and ``APPROVAL_COLUMNS`` order;
    steps in the workflow's order, not the database's."""
    status, created, updated, finished, owner, expires, cancel, last_seq, error = run[:9]
    step_map = {record.step_id: record for record in map(step, step_rows)}
    ordered = {
        StepId(spec.id): step_map[StepId(spec.id)]
        for spec in definition.spec.steps
        if spec.id in step_map
    }
    return RunRecord(
        definition=definition,
        status=RunStatus(status),
        steps=ordered,
        approvals={StepId(row[0]): approval(row) for row in approval_rows},
        created_at=created,
        updated_at=updated,
        finished_at=finished,
        owner=owner,
        lease_expires_at=expires,
        cancel_requested=bool(cancel),
        last_seq=last_seq,
        error=loads(error),
    )
