"""The text of ``orchestra runs show``: readable in an 80-column terminal.

Narrow tables (numbers only, one right-hand space between columns, names that fold
instead of being cut) and the step outputs as indented text blocks under the table,
so nothing needs ``--json`` to be read: outputs, errors, approvals, and model calls
per agent, model and deployment (plus every failed try).
"""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from orchestra.engine.protocols import RunRecord
    from orchestra.llm.usage import UsageReport, UsageTotals

OUTPUT_LINES = 12
"""Lines of each output shown; the rest is summarised (``--json`` has it all)."""


def when(value: float | None) -> str:
    return dt.datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _table(*columns: str, title: str | None = None) -> Table:
    from rich import box
    from rich.table import Table

    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        pad_edge=False,
        show_edge=False,
    )
    for index, name in enumerate(columns):
        if index == 0:
            table.add_column(name, overflow="fold", min_width=8)
        else:
            table.add_column(name, justify="right", no_wrap=True)
    return table


def print_run(console: Console, record: RunRecord, report: UsageReport) -> None:
    """Everything ``runs show --json`` holds, as text that fits 80 columns."""
    from rich.markup import escape

    total = record.usage
    console.print(f"run [bold]{record.run_id}[/]")
    finished = f" · finished {when(record.finished_at)}" if record.finished_at else ""
    console.print(
        f"workflow {escape(record.definition.spec.name)} · [bold]{record.status.value}[/]"
    )
    console.print(f"started {when(record.created_at)}{finished}")
    console.print(
        f"usage: {total.calls} model calls, {total.total_tokens} tokens "
        f"({total.prompt_tokens} in, {total.completion_tokens} out), ${total.cost_usd:.4f}"
    )
    steps = _table("step", "status", "attempt", "calls", "tokens", "cost $")
    for sid, s in record.steps.items():
        steps.add_row(
            escape(sid),
            s.status.value,
            str(s.attempt),
            str(s.usage.calls),
            str(s.usage.total_tokens),
            f"{s.usage.cost_usd:.4f}",
        )
    if steps.rows:
        steps.rows[-1].end_section = True
    steps.add_row(
        "[bold]total[/]", "", "", str(total.calls), str(total.total_tokens), f"{total.cost_usd:.4f}"
    )
    console.print(steps)
    for sid, s in record.steps.items():
        if s.error:
            console.print(f"[bold]{escape(sid)}[/] [red]error[/]:")
            console.print(_block(str(s.error.get("message") or s.error)), highlight=False)
        for name, value in s.outputs.items():
            console.print(f"[bold]{escape(sid)}[/] → [cyan]{escape(name)}[/]:")
            console.print(escape(_block(str(value))), highlight=False)
    for sid, approval in record.approvals.items():
        state = approval.decision or "waiting"
        who = f" by {approval.decided_by}" if approval.decided_by else ""
        reason = f": {approval.reason}" if approval.reason else ""
        console.print(f"approval {escape(sid)}: {state}{escape(who + reason)}")
    if report.total.calls:
        for dimension, groups in (
            ("agent", report.by_agent),
            ("model", report.by_model),
            ("deployment", report.by_deployment),
        ):
            console.print(usage_table(dimension, groups))
        failed = failed_attempts_table(report)
        if failed.row_count:
            console.print(failed)


def _block(text: str, width: int = 76) -> str:
    """``text`` indented by two spaces and wrapped, cut after :data:`OUTPUT_LINES`."""
    lines: list[str] = []
    for line in text.splitlines() or [""]:
        lines += textwrap.wrap(line, width, replace_whitespace=False, drop_whitespace=True) or [""]
    shown = lines[:OUTPUT_LINES]
    if len(lines) > OUTPUT_LINES:
        shown.append(f"… {len(lines) - OUTPUT_LINES} more lines (runs show --json has them all)")
    return "\n".join(f"  {line}" for line in shown)


def usage_table(dimension: str, groups: dict[str, UsageTotals]) -> Table:
    """Model calls summed per ``dimension``, from the stored per-call records."""
    from rich.markup import escape

    table = _table(
        dimension,
        "calls",
        "fail",
        "in/out",
        "cost $",
        "secs",
        "retry",
        "fallback",
        "cached",
        title=f"model calls per {dimension} (in/out: prompt/completion tokens)",
    )
    for key, t in groups.items():
        table.add_row(
            escape(key or "-"),  # deployments read alias[model@api_base]: not Rich markup
            str(t.calls),
            str(t.failed_calls),
            f"{t.prompt_tokens}/{t.completion_tokens}",
            f"{t.cost_usd:.4f}",
            f"{t.latency_s:.2f}",
            str(t.retries),
            str(t.fallbacks),
            str(t.cached_calls),
        )
    return table


def failed_attempts_table(report: UsageReport) -> Table:
    """Every try of a model call that did not answer: where, why, how long."""
    from rich.markup import escape

    table = _table("step · agent · deployment", "error", "secs", title="failed model call tries")
    table.add_column("message", overflow="fold", max_width=40)
    for call in report.calls:
        for tried in call.usage.failed_attempts:
            table.add_row(
                escape(f"{call.step_id} · {call.agent} · {tried.deployment}"),
                tried.error,
                f"{tried.latency_s:.3f}",
                escape(tried.message[:120]),
            )
    return table
