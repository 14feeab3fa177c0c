"""The SQL implementation of the engine's ``RunStore`` (SQLite and PostgreSQL).

Every write is an operation run by the :class:`GroupCommitter`; conditional
``UPDATE … WHERE status IN (…)`` statements enforce the state machines and the
lease fencing in the database itself, so racing processes cannot break them.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update

from orchestra.definitions.specs import WorkflowSpec
from orchestra.engine.errors import ApprovalError, IllegalTransition, LeaseLost, RunNotFound
from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.ids import RunId, StepId, new_run_id
from orchestra.engine.protocols import (
    ApprovalRecord,
    Claim,
    ClaimRequest,
    Decision,
    EventDraft,
    EventSink,
    LeaseState,
    OpenedRun,
    RunDefinition,
    RunOpening,
    RunRecord,
    RunSignals,
    StepRecord,
    UsageTotals,
)
from orchestra.engine.states import RunStatus, StepStatus, run_sources, step_sources
from orchestra.store.database import Database
from orchestra.store.group_commit import GroupCommitter, Tx, drafts_of, dumps, log_failure
from orchestra.store.prepared import Prepared
from orchestra.store.tables import approvals, events, runs, step_attempts, steps

_STEP_COLUMNS = (
    steps.c.step_id,
    steps.c.status,
    steps.c.attempt,
    steps.c.fence,
    steps.c.lease_owner,
    steps.c.lease_expires_at,
    steps.c.outputs_json,
    steps.c.usage_json,
    steps.c.error_json,
    steps.c.started_at,
    steps.c.finished_at,
)


_RUN_COLUMNS = (
    runs.c.status,
    runs.c.created_at,
    runs.c.updated_at,
    runs.c.finished_at,
    runs.c.owner,
    runs.c.lease_expires_at,
    runs.c.cancel_requested,
    # Not runs.last_seq: on SQLite the stored events are the counter (group_commit.py).
    select(func.coalesce(func.max(events.c.seq), 0))
    .where(events.c.run_id == runs.c.id)
    .scalar_subquery(),
    runs.c.error_json,
    runs.c.source_hash,
    runs.c.inputs_json,
)
_APPROVAL_COLUMNS = (
    approvals.c.step_id,
    approvals.c.requested_at,
    approvals.c.decision,
    approvals.c.decided_by,
    approvals.c.reason,
    approvals.c.decided_at,
)
READ_RUN = Prepared(select(*_RUN_COLUMNS).where(runs.c.id == bindparam("rid")))
READ_SPEC = Prepared(select(runs.c.spec_json).where(runs.c.id == bindparam("rid")))
READ_STEPS = Prepared(select(*_STEP_COLUMNS).where(steps.c.run_id == bindparam("rid")))
READ_APPROVALS = Prepared(select(*_APPROVAL_COLUMNS).where(approvals.c.run_id == bindparam("rid")))

_RUNNING = StepStatus.RUNNING.value
_SUCCEEDED = StepStatus.SUCCEEDED.value
_THIS_STEP = (steps.c.run_id == bindparam("rid"), steps.c.step_id == bindparam("sid"))
_THIS_ATTEMPT = (
    step_attempts.c.run_id == bindparam("rid"),
    step_attempts.c.step_id == bindparam("sid"),
)
STEP_STATUS = Prepared(select(steps.c.status).where(*_THIS_STEP))
CLAIM = Prepared(
    update(steps)
    .where(
        *_THIS_STEP,
        or_(
            steps.c.status == StepStatus.PENDING.value,
            and_(
                steps.c.status == _RUNNING,
                or_(
                    steps.c.lease_expires_at < bindparam("now"),
                    steps.c.lease_owner == bindparam("reclaim"),
                ),
            ),
        ),
    )
    .values(
        status=_RUNNING,
        attempt=steps.c.attempt + 1,
        fence=steps.c.fence + 1,
        lease_owner=bindparam("owner"),
        lease_expires_at=bindparam("expires"),
        started_at=bindparam("now"),
        finished_at=None,
    )
    .returning(steps.c.attempt, steps.c.fence)
)
INTERRUPT = Prepared(
    update(step_attempts)
    .where(
        *_THIS_ATTEMPT,
        or_(
            step_attempts.c.status == _RUNNING,
            # released by a detach: already marked, still reported as interrupted
            and_(
                step_attempts.c.status == "interrupted",
                step_attempts.c.attempt == bindparam("previous"),
            ),
        ),
    )
    .values(
        status="interrupted",
        finished_at=func.coalesce(step_attempts.c.finished_at, bindparam("now")),
    )
)
INSERT_ATTEMPT = Prepared(insert(step_attempts))
RENEW = Prepared(
    update(steps)
    .where(*_THIS_STEP, steps.c.fence == bindparam("fence"), steps.c.status == _RUNNING)
    .values(lease_expires_at=bindparam("expires"))
)
FINISH = Prepared(
    update(steps)
    .where(*_THIS_STEP, steps.c.fence == bindparam("fence"), steps.c.status == _RUNNING)
    .values(
        status=bindparam("status"),
        lease_owner=None,
        lease_expires_at=None,
        usage_json=bindparam("usage"),
        error_json=bindparam("error"),
        outputs_json=func.coalesce(bindparam("outputs"), steps.c.outputs_json),
        finished_at=bindparam("finished"),
    )
)
FINISH_ATTEMPT = Prepared(
    update(step_attempts)
    .where(*_THIS_ATTEMPT, step_attempts.c.attempt == bindparam("attempt"))
    .values(
        status=bindparam("status"),
        finished_at=bindparam("now"),
        usage_json=bindparam("usage"),
        error_json=bindparam("error"),
    )
)

CLAIM_RUN = Prepared(
    update(runs)
    .where(
        runs.c.id == bindparam("rid"),
        or_(
            runs.c.owner.is_(None),
            runs.c.owner == bindparam("owner"),
            runs.c.lease_expires_at < bindparam("now"),
            runs.c.owner == bindparam("reclaim"),
        ),
    )
    .values(owner=bindparam("owner"), lease_expires_at=bindparam("expires"))
)
RELEASE_RUN = Prepared(
    update(runs)
    # "me", not "owner": values(owner=None) already binds a parameter named "owner"
    .where(runs.c.id == bindparam("rid"), runs.c.owner == bindparam("me"))
    .values(owner=None, lease_expires_at=None)
)
_SET_STATUS: dict[tuple[RunStatus, bool], Prepared] = {}


def _claim_run_row(tx: Tx, run_id: RunId, owner: str, lease_s: float, reclaim: str) -> int:
    """Take the run's lease if it is free, expired or ``reclaim``'s; rows updated (0 or 1)."""
    params = {
        "rid": run_id,
        "owner": owner,
        "now": tx.now,
        "reclaim": reclaim,
        "expires": tx.now + lease_s,
    }
    return CLAIM_RUN.run(tx.conn, params)


def _set_status(target: RunStatus, with_error: bool) -> Prepared:
    """The conditional status update for ``target``: only from its allowed sources."""
    key = (target, with_error)
    statement = _SET_STATUS.get(key)
    if statement is None:
        values: dict[str, Any] = {"status": target.value, "updated_at": bindparam("now")}
        if target.terminal:
            values["finished_at"] = bindparam("now")
        if with_error:
            values["error_json"] = bindparam("error")
        sources = [runs.c.status == source.value for source in run_sources(target)]
        statement = _SET_STATUS[key] = Prepared(
            update(runs).where(runs.c.id == bindparam("rid"), or_(*sources)).values(**values)
        )
    return statement


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _approval(row: Sequence[Any]) -> ApprovalRecord:
    """From a row in ``_APPROVAL_COLUMNS`` order."""
    step_id, requested_at, decision, decided_by, reason, decided_at = row
    return ApprovalRecord(StepId(step_id), requested_at, decision, decided_by, reason, decided_at)


def _claim_in(
    tx: Tx,
    run_id: RunId,
    step_id: StepId,
    owner: str,
    lease_s: float,
    owners: Collection[str],
    extra: Mapping[str, Any],
) -> Claim | None:
    """Claim ``step_id`` in ``tx`` (pending, or running under an expired lease or one of
    ``owners``): bump attempt and fence, record the attempt and ``step_started``."""
    expires = tx.now + lease_s
    found: list[Any] = []
    for reclaim in owners:
        found = CLAIM.rows(
            tx.conn,
            {
                "rid": run_id,
                "sid": step_id,
                "now": tx.now,
                "reclaim": reclaim,
                "owner": owner,
                "expires": expires,
            },
        )
        if found:
            break
    if not found:
        return None
    attempt, fence = found[0]
    content = {"attempt": attempt, **extra}
    if attempt > 1 and INTERRUPT.run(
        tx.conn, {"rid": run_id, "sid": step_id, "now": tx.now, "previous": attempt - 1}
    ):
        content["interrupted_attempt"] = attempt - 1
    INSERT_ATTEMPT.many(
        tx.conn,
        [
            {
                "run_id": run_id,
                "step_id": step_id,
                "attempt": attempt,
                "fence": fence,
                "owner": owner,
                "status": _RUNNING,
                "started_at": tx.now,
                "finished_at": None,
                "usage_json": None,
                "error_json": None,
            }
        ],
    )
    tx.event(run_id, step_id, EventType.STEP_STARTED, content)
    return Claim(run_id, step_id, attempt, fence, owner, expires)


def _unsucceeded(tx: Tx, run_id: RunId, requests: Sequence[ClaimRequest]) -> set[str]:
    """Which of the requests' other dependencies have not succeeded (yet) in ``tx``."""
    unmet: set[str] = set()
    for sid in {sid for request in requests for sid in request.requires}:
        rows = STEP_STATUS.rows(tx.conn, {"rid": run_id, "sid": sid})
        if not rows or rows[0][0] != _SUCCEEDED:
            unmet.add(sid)
    return unmet


_RunRows = tuple[Sequence[Any], list[Sequence[Any]], list[Sequence[Any]], str | None]
"""A run row, its step rows, its approval rows, and the spec JSON unless cached."""


class SqlRunStore:
    """Runs, steps, attempts, events and approvals in SQL. ``async with store:`` to use it."""

    def __init__(self, database: Database, sink: EventSink | None = None) -> None:
        self.database = database
        self._sinks: list[EventSink] = [sink] if sink is not None else []
        self._writer = GroupCommitter(database, self._publish)
        self._definitions: OrderedDict[RunId, RunDefinition] = OrderedDict()
        # Outputs of steps this store committed as succeeded (immutable from then on),
        # so a step's inputs need no query when the same process ran its upstream.
        self._outputs: OrderedDict[RunId, dict[StepId, Mapping[str, str]]] = OrderedDict()

    def add_sink(self, sink: EventSink) -> None:
        self._sinks.append(sink)

    def _publish(self, committed: list[ExecutionEvent]) -> None:
        if committed:
            for sink in self._sinks:
                sink.publish(committed)

    async def __aenter__(self) -> SqlRunStore:
        self._writer.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._writer.aclose()

    # ------------------------------------------------------------------ runs

    async def create_run(
        self, spec: WorkflowSpec, inputs: Mapping[str, str], run_id: RunId | None = None
    ) -> RunId:
        new_id = run_id or new_run_id()
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

        await self._writer.submit(operation)
        self._remember(RunDefinition(new_id, spec, spec.source_hash, dict(inputs)))
        return new_id

    def _remember(self, definition: RunDefinition) -> None:
        self._definitions[definition.run_id] = definition
        if len(self._definitions) > 4096:
            self._definitions.popitem(last=False)

    async def get_definition(self, run_id: RunId) -> RunDefinition:
        cached = self._definitions.get(run_id)
        if cached is not None:
            return cached

        def read(conn: Connection) -> Any:
            return conn.execute(
                select(runs.c.spec_json, runs.c.source_hash, runs.c.inputs_json).where(
                    runs.c.id == run_id
                )
            ).first()

        row = await self.database.read(read)
        if row is None:
            raise RunNotFound(run_id)
        definition = RunDefinition(
            run_id,
            WorkflowSpec.model_validate_json(row.spec_json),
            row.source_hash,
            json.loads(row.inputs_json),
        )
        self._remember(definition)
        return definition

    async def get_run(self, run_id: RunId) -> RunRecord:
        for with_spec in (False, True):

            def read(conn: Connection, with_spec: bool = with_spec) -> _RunRows | None:
                return self._read_rows(conn, run_id, with_spec=with_spec)

            rows = await self.database.read(read)
            if rows is None:
                raise RunNotFound(run_id)
            record = self._build(run_id, rows)
            if record is not None:
                return record
        raise AssertionError("unreachable: the second read includes the snapshot")

    def _read_rows(self, conn: Connection, run_id: RunId, *, with_spec: bool) -> _RunRows | None:
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

    def _build(self, run_id: RunId, rows: _RunRows) -> RunRecord | None:
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
        self._remember(definition)
        return self._record(definition, run, step_rows, approval_rows)

    @staticmethod
    def _record(
        definition: RunDefinition,
        run: Sequence[Any],
        step_rows: Iterable[Sequence[Any]],
        approval_rows: Iterable[Sequence[Any]],
    ) -> RunRecord:
        """From rows in ``_RUN_COLUMNS``, ``_STEP_COLUMNS`` and ``_APPROVAL_COLUMNS`` order."""
        status, created, updated, finished, owner, expires, cancel, last_seq, error = run[:9]
        step_map: dict[StepId, StepRecord] = {}
        for row in step_rows:
            sid = StepId(row[0])
            step_map[sid] = StepRecord(
                sid,
                StepStatus(row[1]),
                row[2],
                row[3],
                row[4],
                row[5],
                _loads(row[6]) or {},
                UsageTotals.from_json(_loads(row[7])),
                _loads(row[8]),
                row[9],
                row[10],
            )
        ordered = {
            StepId(step.id): step_map[StepId(step.id)]
            for step in definition.spec.steps
            if step.id in step_map
        }
        return RunRecord(
            definition=definition,
            status=RunStatus(status),
            steps=ordered,
            approvals={StepId(row[0]): _approval(row) for row in approval_rows},
            created_at=created,
            updated_at=updated,
            finished_at=finished,
            owner=owner,
            lease_expires_at=expires,
            cancel_requested=bool(cancel),
            last_seq=last_seq,
            error=_loads(error),
        )

    async def list_runs(self, limit: int = 50, status: RunStatus | None = None) -> list[Any]:
        """Newest first: (id, workflow_name, status, created_at, finished_at) rows."""

        def read(conn: Connection) -> list[Any]:
            query = (
                select(
                    runs.c.id,
                    runs.c.workflow_name,
                    runs.c.status,
                    runs.c.created_at,
                    runs.c.finished_at,
                )
                .order_by(runs.c.created_at.desc())
                .limit(limit)
            )
            if status is not None:
                query = query.where(runs.c.status == status.value)
            return list(conn.execute(query).all())

        return await self.database.read(read)

    async def list_attempts(self, run_id: RunId) -> list[Any]:
        def read(conn: Connection) -> list[Any]:
            return list(
                conn.execute(
                    select(step_attempts)
                    .where(step_attempts.c.run_id == run_id)
                    .order_by(step_attempts.c.started_at)
                ).all()
            )

        return await self.database.read(read)

    async def claim_run(
        self, run_id: RunId, owner: str, lease_s: float, reclaim_from: Collection[str] = ()
    ) -> bool:
        owners = list(reclaim_from) or [""]

        def operation(tx: Tx) -> bool:
            for reclaim in owners:
                if _claim_run_row(tx, run_id, owner, lease_s, reclaim):
                    return True
            exists = tx.conn.execute(select(runs.c.id).where(runs.c.id == run_id)).first()
            if exists is None:
                raise RunNotFound(run_id)
            return False

        return await self._writer.submit(operation)

    async def open_run(
        self,
        run_id: RunId,
        owner: str,
        lease_s: float,
        *,
        owner_is_dead: Callable[[str], bool],
        opening: Callable[[RunRecord], RunOpening] | None = None,
    ) -> OpenedRun:
        """Read the run and, unless it is finished or a live owner holds it, claim its
        lease and write its ``opening``: one transaction of the writer, so a burst of
        runs starting at once shares a commit (and no trip through the reader thread)."""

        def operation(tx: Tx) -> OpenedRun:
            rows = self._read_rows(tx.conn, run_id, with_spec=False)
            if rows is None:
                raise RunNotFound(run_id)
            record = self._build(run_id, rows)
            if record is None:  # the snapshot left the cache meanwhile
                again = self._read_rows(tx.conn, run_id, with_spec=True)
                record = self._build(run_id, again) if again is not None else None
                if record is None:
                    raise RunNotFound(run_id)
            if record.status.terminal:
                return OpenedRun(record, False)
            plan = opening(record) if opening is not None else None  # may raise: no writes yet
            current = record.owner
            reclaim = current if current and owner_is_dead(current) else ""
            claimed = _claim_run_row(tx, run_id, owner, lease_s, reclaim)
            if not claimed or plan is None:
                return OpenedRun(record, claimed > 0)
            if plan.status is not None:
                # read under the write lock just now, so the transition is allowed
                _set_status(plan.status, False).run(tx.conn, {"rid": run_id, "now": tx.now})
            tx.drafts.extend(drafts_of(run_id, plan.events))
            made = [
                claim
                for request in plan.claims
                if (
                    claim := _claim_in(
                        tx, run_id, request.step_id, owner, request.lease_s, ("",), request.content
                    )
                )
                is not None
            ]
            return OpenedRun(record, True, made)

        return await self._writer.submit(operation)

    async def heartbeat_run(
        self, run_id: RunId, owner: str, lease_s: float, *, with_decisions: bool = False
    ) -> RunSignals:
        def operation(tx: Tx) -> RunSignals:
            cancel = tx.conn.execute(
                update(runs)
                .where(runs.c.id == run_id, runs.c.owner == owner)
                .values(lease_expires_at=tx.now + lease_s)
                .returning(runs.c.cancel_requested)
            ).scalar_one_or_none()
            if cancel is None:
                return RunSignals(owns_run=False, cancel_requested=False)
            decisions: dict[StepId, ApprovalRecord] = {}
            if with_decisions:
                for row in tx.conn.execute(
                    select(*_APPROVAL_COLUMNS).where(
                        approvals.c.run_id == run_id, approvals.c.decision.is_not(None)
                    )
                ):
                    decisions[StepId(row[0])] = _approval(row)
            return RunSignals(True, bool(cancel), decisions)

        return await self._writer.submit(operation)

    async def release_run(self, run_id: RunId, owner: str) -> None:
        def operation(tx: Tx) -> None:
            RELEASE_RUN.run(tx.conn, {"rid": run_id, "me": owner})

        await self._writer.submit(operation)

    async def set_run_status(
        self,
        run_id: RunId,
        target: RunStatus,
        events: Iterable[EventDraft] = (),
        *,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        drafts = drafts_of(run_id, events)
        statement = _set_status(target, error is not None)
        error_json = dumps(dict(error)) if error is not None else None

        def operation(tx: Tx) -> None:
            params: dict[str, Any] = {"rid": run_id, "now": tx.now}
            if error_json is not None:
                params["error"] = error_json
            if statement.run(tx.conn, params) == 0:
                current = tx.conn.execute(
                    select(runs.c.status).where(runs.c.id == run_id)
                ).scalar_one_or_none()
                if current is None:
                    raise RunNotFound(run_id)
                raise IllegalTransition("run", run_id, current, target.value)
            tx.drafts.extend(drafts)

        await self._writer.submit(operation)
        if target.terminal:
            self._outputs.pop(run_id, None)

    async def request_cancel(self, run_id: RunId) -> None:
        def operation(tx: Tx) -> None:
            result = tx.conn.execute(
                update(runs).where(runs.c.id == run_id).values(cancel_requested=True)
            )
            if result.rowcount == 0:
                raise RunNotFound(run_id)

        await self._writer.submit(operation)

    # ----------------------------------------------------------------- steps

    async def claim_step(
        self,
        run_id: RunId,
        step_id: StepId,
        owner: str,
        lease_s: float,
        reclaim_from: Collection[str] = (),
        content: Mapping[str, Any] | None = None,
    ) -> Claim | None:
        extra = dict(content or {})
        owners = list(reclaim_from) or [""]

        def operation(tx: Tx) -> Claim | None:
            return _claim_in(tx, run_id, step_id, owner, lease_s, owners, extra)

        return await self._writer.submit(operation)

    async def renew_step(self, claim: Claim, lease_s: float) -> LeaseState:
        def operation(tx: Tx) -> LeaseState:
            params = {"rid": claim.run_id, "sid": claim.step_id, "fence": claim.fence}
            held = RENEW.run(tx.conn, {**params, "expires": tx.now + lease_s}) > 0
            cancel = select(runs.c.cancel_requested).where(runs.c.id == claim.run_id)
            return LeaseState(held, bool(tx.conn.execute(cancel).scalar()))

        return await self._writer.submit(operation)

    async def finish_step(
        self,
        claim: Claim,
        target: StepStatus,
        *,
        outputs: Mapping[str, str] | None = None,
        usage: UsageTotals | None = None,
        error: Mapping[str, Any] | None = None,
        events: Iterable[EventDraft] = (),
        claim_next: Sequence[ClaimRequest] = (),
    ) -> list[Claim]:
        """End an attempt: ``target`` is a final state, or ``pending`` to retry later.

        ``claim_next`` (steps this one makes ready) are claimed for ``claim.owner`` in the
        same transaction when ``target`` is ``succeeded``; the claims made are returned.
        Raises :class:`LeaseLost` (and writes nothing) unless ``claim.fence`` is current.
        """
        drafts = drafts_of(claim.run_id, events)
        attempt_usage = usage or UsageTotals()
        attempt_json = dumps(attempt_usage.to_json())
        error_json = dumps(dict(error)) if error is not None else None
        outputs_json = dumps(dict(outputs)) if outputs is not None else None
        attempt_status = "failed" if target is StepStatus.PENDING else target.value

        following = claim_next if target is StepStatus.SUCCEEDED else ()

        def operation(tx: Tx) -> list[Claim]:
            total = attempt_usage
            if claim.attempt > 1:
                previous = tx.conn.execute(
                    select(steps.c.usage_json).where(
                        steps.c.run_id == claim.run_id,
                        steps.c.step_id == claim.step_id,
                        steps.c.fence == claim.fence,
                        steps.c.status == _RUNNING,
                    )
                ).first()
                if previous is None:
                    raise LeaseLost(_lease_lost(claim))
                total = total + UsageTotals.from_json(_loads(previous[0]))
            changed = FINISH.run(
                tx.conn,
                {
                    "rid": claim.run_id,
                    "sid": claim.step_id,
                    "fence": claim.fence,
                    "status": target.value,
                    "usage": attempt_json if total is attempt_usage else dumps(total.to_json()),
                    "error": error_json,
                    "outputs": outputs_json,
                    "finished": tx.now if target.terminal else None,
                },
            )
            if changed == 0:
                raise LeaseLost(_lease_lost(claim))
            FINISH_ATTEMPT.run(
                tx.conn,
                {
                    "rid": claim.run_id,
                    "sid": claim.step_id,
                    "attempt": claim.attempt,
                    "status": attempt_status,
                    "now": tx.now,
                    "usage": attempt_json,
                    "error": error_json,
                },
            )
            tx.drafts.extend(drafts)
            made: list[Claim] = []
            unmet = _unsucceeded(tx, claim.run_id, following)
            for request in following:
                if unmet.intersection(request.requires):
                    continue  # a sibling did not succeed: the driver schedules it later
                next_claim = _claim_in(
                    tx,
                    claim.run_id,
                    request.step_id,
                    claim.owner,
                    request.lease_s,
                    ("",),
                    request.content,
                )
                if next_claim is not None:
                    made.append(next_claim)
            return made

        made = await self._writer.submit(operation)
        if target is StepStatus.SUCCEEDED and outputs is not None:
            known = self._outputs.get(claim.run_id)
            if known is None:
                known = self._outputs[claim.run_id] = {}
                if len(self._outputs) > 4096:
                    self._outputs.popitem(last=False)
            known[claim.step_id] = dict(outputs)
        return made

    async def settle_steps(
        self,
        run_id: RunId,
        step_ids: Collection[StepId],
        target: StepStatus,
        events: Iterable[EventDraft] = (),
        *,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        """Move steps that are not running under a live claim straight to ``target``."""
        drafts = drafts_of(run_id, events)
        extra = {"error_json": dumps(dict(error))} if error is not None else {}
        sources = [status.value for status in step_sources(target)]
        ids = list(step_ids)

        def operation(tx: Tx) -> None:
            changed: set[str] = set()
            if ids:
                changed = set(
                    tx.conn.execute(
                        update(steps)
                        .where(
                            steps.c.run_id == run_id,
                            steps.c.step_id.in_(ids),
                            steps.c.status.in_(sources),
                        )
                        .values(
                            status=target.value,
                            finished_at=tx.now,
                            lease_owner=None,
                            lease_expires_at=None,
                            **extra,
                        )
                        .returning(steps.c.step_id)
                    ).scalars()
                )
                tx.conn.execute(
                    update(step_attempts)
                    .where(
                        step_attempts.c.run_id == run_id,
                        step_attempts.c.step_id.in_(ids),
                        step_attempts.c.status == StepStatus.RUNNING.value,
                    )
                    .values(status="interrupted", finished_at=tx.now)
                )
            # events only for steps this call really moved (others were already settled)
            tx.drafts.extend(d for d in drafts if d[1] is None or d[1] in changed)

        await self._writer.submit(operation)

    async def detach_steps(
        self, run_id: RunId, owner: str, events: Iterable[EventDraft] = ()
    ) -> list[StepId]:
        """Give up every step ``owner`` holds in the run without ending it: each stays
        ``running`` with no lease owner and an expired lease, its attempt becomes
        ``interrupted``, so the next claim takes it over at once and counts a new attempt.
        Returns the steps released."""
        drafts = drafts_of(run_id, events)

        def operation(tx: Tx) -> list[StepId]:
            held = list(
                tx.conn.execute(
                    update(steps)
                    .where(
                        steps.c.run_id == run_id,
                        steps.c.status == _RUNNING,
                        steps.c.lease_owner == owner,
                    )
                    .values(lease_owner=None, lease_expires_at=0.0)
                    .returning(steps.c.step_id)
                ).scalars()
            )
            if held:
                tx.conn.execute(
                    update(step_attempts)
                    .where(
                        step_attempts.c.run_id == run_id,
                        step_attempts.c.step_id.in_(held),
                        step_attempts.c.status == _RUNNING,
                    )
                    .values(status="interrupted", finished_at=tx.now)
                )
            tx.drafts.extend(drafts)
            return [StepId(sid) for sid in sorted(held)]

        return await self._writer.submit(operation)

    async def read_outputs(
        self, run_id: RunId, step_ids: Collection[StepId]
    ) -> dict[StepId, Mapping[str, str]]:
        ids = list(step_ids)
        if not ids:
            return {}
        known = self._outputs.get(run_id)
        if known is not None and all(sid in known for sid in ids):
            return {sid: known[sid] for sid in ids}

        def read(conn: Connection) -> dict[StepId, Mapping[str, str]]:
            rows = conn.execute(
                select(steps.c.step_id, steps.c.outputs_json).where(
                    steps.c.run_id == run_id,
                    steps.c.step_id.in_(ids),
                    steps.c.status == StepStatus.SUCCEEDED.value,
                )
            )
            return {StepId(row.step_id): _loads(row.outputs_json) or {} for row in rows}

        return await self.database.read(read)

    # ------------------------------------------------------------- approvals

    async def request_approval(self, run_id: RunId, step_id: StepId) -> ApprovalRecord:
        def operation(tx: Tx) -> ApprovalRecord:
            row = tx.conn.execute(
                select(*_APPROVAL_COLUMNS).where(
                    approvals.c.run_id == run_id, approvals.c.step_id == step_id
                )
            ).first()
            if row is not None:
                return _approval(row)
            tx.conn.execute(
                insert(approvals).values(run_id=run_id, step_id=step_id, requested_at=tx.now)
            )
            tx.event(
                run_id,
                step_id,
                EventType.APPROVAL_REQUESTED,
                {
                    "hint": f"orchestra runs approve {run_id} {step_id} --by NAME --reason TEXT",
                },
            )
            return ApprovalRecord(step_id, tx.now)

        return await self._writer.submit(operation)

    async def decide_approval(
        self, run_id: RunId, step_id: StepId, decision: Decision, by: str, reason: str
    ) -> ApprovalRecord:
        def operation(tx: Tx) -> ApprovalRecord:
            result = tx.conn.execute(
                update(approvals)
                .where(
                    approvals.c.run_id == run_id,
                    approvals.c.step_id == step_id,
                    approvals.c.decision.is_(None),
                )
                .values(decision=decision, decided_by=by, reason=reason, decided_at=tx.now)
            )
            if result.rowcount == 0:
                raise ApprovalError(
                    f"step {step_id!r} of run {run_id} is not waiting for approval (not "
                    f"requested yet, or already decided); see `orchestra runs show {run_id}`"
                )
            tx.event(
                run_id,
                step_id,
                EventType.LOG,
                {
                    "message": f"{decision} by {by}" + (f": {reason}" if reason else ""),
                    "approval": decision,
                    "by": by,
                    "reason": reason,
                },
            )
            row = tx.conn.execute(
                select(*_APPROVAL_COLUMNS).where(
                    approvals.c.run_id == run_id, approvals.c.step_id == step_id
                )
            ).one()
            return _approval(row)

        return await self._writer.submit(operation)

    # ---------------------------------------------------------------- events

    async def append_events(
        self, run_id: RunId, events: Iterable[EventDraft], *, wait: bool = True
    ) -> None:
        """Store events. ``wait=False`` queues them behind earlier writes and returns at once
        (they are still committed before they are published; failures are logged)."""
        drafts = drafts_of(run_id, events)

        def operation(tx: Tx) -> None:
            tx.drafts.extend(drafts)

        future = self._writer.submit_nowait(operation, lazy=not wait)
        if wait:
            await future
        else:
            future.add_done_callback(log_failure)

    async def read_events(
        self, run_id: RunId, after_seq: int = 0, limit: int | None = None
    ) -> list[ExecutionEvent]:
        def read(conn: Connection) -> list[ExecutionEvent]:
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

        return await self.database.read(read)

    async def wait_idle(self) -> None:
        """Return once every write queued so far has committed (tests, shutdown)."""
        await self._writer.submit(lambda tx: None)


def _lease_lost(claim: Claim) -> str:
    return (
        f"step {claim.step_id!r} of run {claim.run_id}: attempt {claim.attempt} no longer holds "
        f"the lease (fence {claim.fence} is stale); another worker took the step over"
    )


__all__ = ["SqlRunStore"]
