"""Creating runs and reading them back as :class:`RunRecord`.

A run's workflow snapshot (``spec_json``) is the largest thing the store reads and
never changes, so :class:`RunRecords` keeps the parsed definitions of recent runs
and reads the snapshot only for runs it does not know.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, insert, select

from orchestra.definitions.specs import WorkflowSpec
from orchestra.engine.errors import RunNotFound
from orchestra.engine.ids import RunId
from orchestra.engine.protocols import RunDefinition, RunRecord
from orchestra.engine.states import RunStatus, StepStatus
from orchestra.store.group_commit import Operation, Tx, dumps
from orchestra.store.runs import rows as mapping
from orchestra.store.runs.statements import READ_APPROVALS, READ_RUN, READ_SPEC, READ_STEPS
from orchestra.store.tables import runs, steps

CACHE_LIMIT = 4096
"""Runs whose definitions (and committed outputs) a store keeps in memory."""


def create(new_id: RunId, spec: WorkflowSpec, inputs: Mapping[str, str]) -> Operation[None]:
    """Insert a queued run and its pending steps."""
    spec_json = spec.model_dump_json()
    inputs_json = dumps(dict(inputs))

    def operation(tx: Tx) -> None:
        tx.conn.execute(
            insert(runs).values(
                id=new_id,
                workflow_name=spec.name,
                spec_json=spec_json,
                source_hash=spec.source_hash,
                inputs_json=inputs_json,
                status=RunStatus.QUEUED.value,
                created_at=tx.now,
                updated_at=tx.now,
                last_seq=0,
                cancel_requested=False,
            )
        )
        tx.conn.execute(
            insert(steps),
            [
                {
                    "run_id": new_id,
                    "step_id": step.id,
                    "status": StepStatus.PENDING.value,
                    "attempt": 0,
                    "fence": 0,
                }
                for step in spec.steps
            ],
        )

    return operation


class RunRecords:
    """Reads runs, with the parsed definitions of the last :data:`CACHE_LIMIT` runs."""

    def __init__(self) -> None:
        self._definitions: OrderedDict[RunId, RunDefinition] = OrderedDict()

    def remember(self, definition: RunDefinition) -> None:
        self._definitions[definition.run_id] = definition
        if len(self._definitions) > CACHE_LIMIT:
            self._definitions.popitem(last=False)

    def cached(self, run_id: RunId) -> RunDefinition | None:
        return self._definitions.get(run_id)

    def definition_of(self, run_id: RunId, row: Any) -> RunDefinition:
        """From a row of ``spec_json, source_hash, inputs_json`` (None: no such run)."""
        if row is None:
            raise RunNotFound(run_id)
        definition = RunDefinition(
            run_id,
            WorkflowSpec.model_validate_json(row.spec_json),
            row.source_hash,
            json.loads(row.inputs_json),
        )
        self.remember(definition)
        return definition

    @staticmethod
    def read_definition_row(conn: Connection, run_id: RunId) -> Any:
        return conn.execute(
            select(runs.c.spec_json, runs.c.source_hash, runs.c.inputs_json).where(
                runs.c.id == run_id
            )
        ).first()

    def read_rows(
        self, conn: Connection, run_id: RunId, *, with_spec: bool
    ) -> mapping.RunRows | None:
        """The run's rows, read in the caller's transaction (a few indexed reads); the
        workflow snapshot only when asked or not cached."""
        run = READ_RUN.rows(conn, {"rid": run_id})
        if not run:
            return None
        spec_json = None
        if with_spec or run_id not in self._definitions:
            spec_json = READ_SPEC.rows(conn, {"rid": run_id})[0][0]
        return (
            run[0],
            READ_STEPS.rows(conn, {"rid": run_id}),
            READ_APPROVALS.rows(conn, {"rid": run_id}),
            spec_json,
        )

    def build(self, run_id: RunId, rows: mapping.RunRows) -> RunRecord | None:
        """None when the snapshot left the cache after the read (read again with it)."""
        run, step_rows, approval_rows, spec_json = rows
        definition = self._definitions.get(run_id)
        if definition is None:
            if spec_json is None:
                return None
            definition = RunDefinition(
                run_id,
                WorkflowSpec.model_validate_json(spec_json),
                run[9],
                json.loads(run[10]),
            )
        self.remember(definition)
        return mapping.run_record(definition, run, step_rows, approval_rows)

    def read_in(self, conn: Connection, run_id: RunId) -> RunRecord:
        """The run, read in the caller's transaction (the snapshot too if it must)."""
        rows = self.read_rows(conn, run_id, with_spec=False)
        if rows is None:
            raise RunNotFound(run_id)
        record = self.build(run_id, rows)
        if record is None:  # the snapshot left the cache meanwhile
            again = self.read_rows(conn, run_id, with_spec=True)
            record = self.build(run_id, again) if again is not None else None
            if record is None:
                raise RunNotFound(run_id)
        return record
