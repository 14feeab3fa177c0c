"""Turning specs, records and events into the response bodies of :mod:`orchestra.api.schemas`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestra.api import schemas
from orchestra.definitions import AgentSpec, Diagnostic, WorkflowSpec
from orchestra.definitions.views import workflow_view
from orchestra.engine.events import ExecutionEvent
from orchestra.engine.protocols import RunRecord, UsageTotals
from orchestra.engine.states import StepStatus
from orchestra.llm.usage import UsageReport
from orchestra.llm.usage import UsageTotals as CallTotals
from orchestra.runtime.errors import InvalidRequest
from orchestra.runtime.keys import parse_role
from orchestra.store.auth_repo import KeyRow
from orchestra.store.run_queries import RunPosition, RunRow


def usage(totals: UsageTotals) -> schemas.Usage:
    return schemas.Usage(
        prompt_tokens=totals.prompt_tokens,
        completion_tokens=totals.completion_tokens,
        total_tokens=totals.total_tokens,
        cost_usd=totals.cost_usd,
        calls=totals.calls,
    )


def _rollup(totals: CallTotals) -> dict[str, Any]:
    return {**totals.model_dump(), "total_tokens": totals.total_tokens}


def run_usage(run_id: str, report: UsageReport) -> schemas.RunUsage:
    def groups(by: dict[str, CallTotals]) -> list[schemas.UsageGroup]:
        return [schemas.UsageGroup(key=key, **_rollup(totals)) for key, totals in by.items()]

    return schemas.RunUsage(
        run_id=run_id,
        total=schemas.UsageRollup(**_rollup(report.total)),
        by_step=groups(report.by_step),
        by_agent=groups(report.by_agent),
        by_model=groups(report.by_model),
        by_deployment=groups(report.by_deployment),
        calls=[
            schemas.ModelCall(
                step_id=call.step_id or None,
                attempt=call.attempt,
                agent=call.agent,
                requested_model=call.requested_model,
                error=call.error,
                created_at=call.created_at,
                **call.usage.model_dump(),
            )
            for call in report.calls
        ],
    )


def shown_path(path: Path | str, root: Path) -> str:
    """``path`` as a viewer may see it: relative to the project folder, never the
    server's absolute layout (a file outside the project shows its name only)."""
    given = Path(path)
    if not given.is_absolute():
        return given.as_posix()
    try:
        return given.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return given.name


def diagnostic(item: Diagnostic, root: Path) -> dict[str, Any]:
    return {**item.to_dict(), "path": shown_path(item.path, root)}


def workflow(spec: WorkflowSpec, root: Path) -> schemas.Workflow:
    return schemas.Workflow.model_validate(
        {
            **workflow_view(spec),
            "path": shown_path(spec.path, root) if spec.path else "",
            "source": _source(spec.path),
        }
    )


def _source(path: Path | None) -> str:
    """The workflow's Markdown for the web UI's read-only view; empty when it has no file."""
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""  # removed since it was loaded: the DAG still shows


def workflow_summary(spec: WorkflowSpec) -> schemas.WorkflowSummary:
    return schemas.WorkflowSummary(
        name=spec.name,
        description=spec.description,
        steps=len(spec.steps),
        inputs=[schemas.Input.model_validate(i.model_dump(mode="json")) for i in spec.inputs],
    )


def agent(spec: AgentSpec, active: bool, root: Path) -> schemas.Agent:
    return schemas.Agent(
        name=spec.name,
        model=spec.model,
        description=spec.description,
        tools=list(spec.tools),
        skills=[skill.name for skill in spec.skills],
        capabilities=list(spec.capabilities),
        state="active" if active else "idle",
        path=shown_path(spec.path, root),
    )


def _duration(created: float, finished: float | None) -> float | None:
    return None if finished is None else max(0.0, finished - created)


def run_summary(row: RunRow) -> schemas.RunSummary:
    return schemas.RunSummary(
        id=row.id,
        workflow=row.workflow,
        status=row.status.value,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        duration_s=_duration(row.created_at, row.finished_at),
        usage=usage(row.usage),
    )


def _run_error(error: Mapping[str, Any] | None) -> schemas.RunError | None:
    if not error:
        return None
    failed = error.get("failed_steps")
    if failed:
        return schemas.RunError(
            code="step_failed", message=f"step(s) failed: {', '.join(map(str, failed))}"
        )
    return schemas.RunError(
        code=str(error.get("code", "run_failed")),
        message=str(error.get("message", "the run failed; see its events")),
    )


def _step_error(error: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if error is None:
        return None
    return {"code": str(error.get("type", "step_failed")), **dict(error)}


def run(record: RunRecord) -> schemas.Run:
    spec = record.definition.spec
    read = {var for step in spec.steps for var in step.input_vars}
    final = [v for step in spec.steps for v in step.output_vars if v not in read]
    produced: dict[str, str] = {}
    for step in record.steps.values():
        if step.status is StepStatus.SUCCEEDED:
            produced.update(step.outputs)
    steps = []
    for step_id, step in record.steps.items():
        approval = record.approvals.get(step_id)
        steps.append(
            schemas.RunStep(
                id=step_id,
                status=step.status.value,
                attempt=step.attempt,
                outputs=dict(step.outputs),
                usage=usage(step.usage),
                error=_step_error(step.error),
                started_at=step.started_at,
                finished_at=step.finished_at,
                approval=None
                if approval is None
                else schemas.Approval(
                    requested_at=approval.requested_at,
                    decision=approval.decision,
                    decided_by=approval.decided_by,
                    reason=approval.reason,
                ),
            )
        )
    return schemas.Run(
        id=record.run_id,
        workflow=spec.name,
        status=record.status.value,
        created_at=record.created_at,
        updated_at=record.updated_at,
        finished_at=record.finished_at,
        duration_s=_duration(record.created_at, record.finished_at),
        usage=usage(record.usage),
        inputs=dict(record.definition.inputs),
        outputs={name: produced[name] for name in final if name in produced},
        error=_run_error(record.error),
        source_hash=record.definition.source_hash,
        steps=steps,
    )


def event(item: ExecutionEvent) -> dict[str, Any]:
    return item.to_json()


def key(row: KeyRow) -> schemas.Key:
    return schemas.Key(
        id=row.id,
        name=row.name,
        role=parse_role(row.role),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


# Cursors are opaque to clients, but their shape is in the OpenAPI schema (RUN_CURSOR,
# AUDIT_CURSOR) and every string of that shape is a valid position: a client (or a
# fuzzer) that sends a schema-valid cursor gets a page, never a 422.

RUN_CURSOR = r"^[0-9]{1,20}(\.[0-9]{1,20})?(e[-+]?[0-9]{1,3})?~.{0,300}$"
"""A run cursor: the last row's ``created_at`` (``repr``), ``~``, its run id."""
AUDIT_CURSOR = r"^[0-9]{1,18}$"
"""An audit cursor: the last entry's id (below 2**63, so any database can compare it)."""


def run_cursor(row: RunRow) -> str:
    return f"{row.created_at!r}~{row.id}"


def run_position(cursor: str) -> RunPosition:
    created, sep, run_id = cursor.partition("~")
    try:
        if not sep:
            raise ValueError(created)
        return RunPosition(float(created), run_id)
    except ValueError as exc:
        raise InvalidRequest(
            f"cursor {cursor!r} is not one this server gave out; pass next_cursor unchanged"
        ) from exc


def audit_cursor(entry_id: int) -> str:
    return str(entry_id)


def audit_position(cursor: str) -> int:
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        raise InvalidRequest(
            f"cursor {cursor!r} is not one this server gave out; pass next_cursor unchanged"
        )
    return int(cursor)
