"""The SQL implementation of the engine's ``RunStore`` (SQLite and PostgreSQL).

A thin facade: the SQL and the operations live in :mod:`orchestra.store.runs`, one
concept a module; this class owns what they share — the single writer
(:class:`GroupCommitter`), the caches, and the one point where committed events
leave the store for its sinks (:meth:`SqlRunStore._publish`).

Every write is an operation run by the :class:`GroupCommitter`; conditional
``UPDATE … WHERE status IN (…)`` statements enforce the state machines and the
lease fencing in the database itself, so racing processes cannot break them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from sqlalchemy import Connection

from orchestra.definitions.specs import WorkflowSpec
from orchestra.engine.errors import RunNotFound
from orchestra.engine.events import ExecutionEvent
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
    UsageTotals,
)
from orchestra.engine.states import RunStatus, StepStatus
from orchestra.store.database import Database
from orchestra.store.group_commit import GroupCommitter, log_failure
from orchestra.store.run_queries import AttemptRow, RunQueries, RunRow
from orchestra.store.runs import approvals, claims, leases, records
from orchestra.store.runs import events as _events
from orchestra.store.runs.rows import RunRows


class SqlRunStore:
    """Runs, steps, attempts, events and approvals in SQL. ``async with store:`` to use it."""

    def __init__(self, database: Database, sink: EventSink | None = None) -> None:
        self.database = database
        self.queries = RunQueries(database)
        self._sinks: list[EventSink] = [sink] if sink is not None else []
        self._writer = GroupCommitter(database, self._publish)
        self._records = records.RunRecords()
        self._outputs = claims.StepOutputs()

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
        await self._writer.submit(records.create(new_id, spec, inputs))
        self._records.remember(RunDefinition(new_id, spec, spec.source_hash, dict(inputs)))
        return new_id

    async def get_definition(self, run_id: RunId) -> RunDefinition:
        cached = self._records.cached(run_id)
        if cached is not None:
            return cached
        row = await self.database.read(
            lambda conn: records.RunRecords.read_definition_row(conn, run_id)
        )
        return self._records.definition_of(run_id, row)

    async def get_run(self, run_id: RunId) -> RunRecord:
        for with_spec in (False, True):

            def read(conn: Connection, with_spec: bool = with_spec) -> RunRows | None:
                return self._records.read_rows(conn, run_id, with_spec=with_spec)

            rows = await self.database.read(read)
            if rows is None:
                raise RunNotFound(run_id)
            record = self._records.build(run_id, rows)
            if record is not None:
                return record
        raise AssertionError("unreachable: the second read includes the snapshot")

    async def list_runs(self, limit: int = 50, status: RunStatus | None = None) -> list[RunRow]:
        """Newest first (see :meth:`RunQueries.page` for filters and paging)."""
        return await self.queries.page(limit, status=status)

    async def list_attempts(self, run_id: RunId) -> list[AttemptRow]:
        return await self.queries.attempts(run_id)

    # ------------------------------------------------------------ run leases

    async def claim_run(
        self, run_id: RunId, owner: str, lease_s: float, reclaim_from: Collection[str] = ()
    ) -> bool:
        return await self._writer.submit(leases.claim(run_id, owner, lease_s, reclaim_from))

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
        operation = leases.open_run(self._records, run_id, owner, lease_s, owner_is_dead, opening)
        return await self._writer.submit(operation)

    async def heartbeat_run(
        self, run_id: RunId, owner: str, lease_s: float, *, with_decisions: bool = False
    ) -> RunSignals:
        return await self._writer.submit(leases.heartbeat(run_id, owner, lease_s, with_decisions))

    async def release_run(self, run_id: RunId, owner: str) -> None:
        await self._writer.submit(leases.release(run_id, owner))

    async def set_run_status(
        self,
        run_id: RunId,
        target: RunStatus,
        events: Iterable[EventDraft] = (),
        *,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        await self._writer.submit(leases.set_run_status(run_id, target, events, error))
        if target.terminal:
            self._outputs.forget(run_id)

    async def request_cancel(self, run_id: RunId) -> None:
        await self._writer.submit(leases.request_cancel(run_id))

    # ----------------------------------------------------------- step claims

    async def claim_step(
        self,
        run_id: RunId,
        step_id: StepId,
        owner: str,
        lease_s: float,
        reclaim_from: Collection[str] = (),
        content: Mapping[str, Any] | None = None,
    ) -> Claim | None:
        operation = claims.claim_step(run_id, step_id, owner, lease_s, reclaim_from, content)
        return await self._writer.submit(operation)

    async def renew_step(self, claim: Claim, lease_s: float) -> LeaseState:
        return await self._writer.submit(claims.renew(claim, lease_s))

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
        operation = claims.finish(
            claim,
            target,
            outputs=outputs,
            usage=usage,
            error=error,
            events=events,
            claim_next=claim_next,
        )
        made = await self._writer.submit(operation)
        if target is StepStatus.SUCCEEDED and outputs is not None:
            self._outputs.remember(claim.run_id, claim.step_id, outputs)
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
        await self._writer.submit(claims.settle(run_id, step_ids, target, events, error))

    async def detach_steps(
        self, run_id: RunId, owner: str, events: Iterable[EventDraft] = ()
    ) -> list[StepId]:
        """Give up every step ``owner`` holds in the run without ending it: each stays
        ``running`` with no lease owner and an expired lease, its attempt becomes
        ``interrupted``, so the next claim takes it over at once and counts a new attempt.
        Returns the steps released."""
        return await self._writer.submit(claims.detach(run_id, owner, events))

    async def read_outputs(
        self, run_id: RunId, step_ids: Collection[StepId]
    ) -> dict[StepId, Mapping[str, str]]:
        ids = list(step_ids)
        if not ids:
            return {}
        known = self._outputs.known(run_id, ids)
        if known is not None:
            return known
        return await self.database.read(lambda conn: claims.read_outputs(conn, run_id, ids))

    # ------------------------------------------------------------- approvals

    async def request_approval(self, run_id: RunId, step_id: StepId) -> ApprovalRecord:
        return await self._writer.submit(approvals.request(run_id, step_id))

    async def decide_approval(
        self, run_id: RunId, step_id: StepId, decision: Decision, by: str, reason: str
    ) -> ApprovalRecord:
        return await self._writer.submit(approvals.decide(run_id, step_id, decision, by, reason))

    # ---------------------------------------------------------------- events

    async def append_events(
        self, run_id: RunId, events: Iterable[EventDraft], *, wait: bool = True
    ) -> None:
        """Store events. ``wait=False`` queues them behind earlier writes and returns at once
        (they are still committed before they are published; failures are logged)."""
        future = self._writer.submit_nowait(_events.append(run_id, events), lazy=not wait)
        if wait:
            await future
        else:
            future.add_done_callback(log_failure)

    async def read_events(
        self, run_id: RunId, after_seq: int = 0, limit: int | None = None
    ) -> list[ExecutionEvent]:
        return await self.database.read(lambda conn: _events.read(conn, run_id, after_seq, limit))

    async def wait_idle(self) -> None:
        """Return once every write queued so far has committed (tests, shutdown)."""
        await self._writer.submit(lambda tx: None)


__all__ = ["AttemptRow", "RunRow", "SqlRunStore"]
