"""The run report: one PDF with a run's steps, timings, outputs, usage and cost charts.

Built from what the store already holds (the :class:`~orchestra.engine.protocols.RunRecord`
and the run's :class:`~orchestra.llm.usage.UsageReport`) as Markdown, then rendered by
:func:`~orchestra.integrations.pdf.render.render_pdf` like any document: so a report
looks like what ``pdf.render`` produces, and the charts are the same matplotlib ones.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from orchestra.integrations.pdf.charts import ChartSpec
from orchestra.integrations.pdf.render import PdfStyle, render_pdf
from orchestra.tools.workspace import Workspace

if TYPE_CHECKING:
    from orchestra.engine.protocols import RunRecord
    from orchestra.llm.usage import UsageReport

OUTPUT_CHARS = 1500
"""Each output is cut to this many characters in the report (the store keeps it whole)."""


def _when(value: float | None) -> str:
    if value is None:
        return "-"
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def report_markdown(record: RunRecord, usage: UsageReport) -> tuple[str, dict[str, ChartSpec]]:
    """The report's Markdown and the charts it embeds."""
    spec = record.definition.spec
    lines = [
        f"# Run report: {spec.name}",
        "",
        f"| Run | `{record.run_id}` |",
        "| --- | --- |",
        f"| Status | {record.status.value} |",
        f"| Created | {_when(record.created_at)} |",
        f"| Finished | {_when(record.finished_at)} |",
        f"| Model calls | {usage.total.calls} |",
        f"| Tokens | {usage.total.prompt_tokens} prompt, {usage.total.completion_tokens} completion |",
        f"| Cost | ${usage.total.cost_usd:.4f} |",
        "",
    ]
    if record.definition.inputs:
        lines += ["## Inputs", "", "| Name | Value |", "| --- | --- |"]
        lines += [f"| {_cell(k)} | {_cell(v)} |" for k, v in record.definition.inputs.items()]
        lines.append("")
    lines += [
        "## Steps",
        "",
        "| Step | Status | Attempt | Started | Duration | Tokens | Cost |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    durations: dict[str, float] = {}
    for sid, step in record.steps.items():
        took = ""
        if step.started_at is not None and step.finished_at is not None:
            durations[str(sid)] = step.finished_at - step.started_at
            took = f"{durations[str(sid)]:.2f} s"
        tokens = step.usage.prompt_tokens + step.usage.completion_tokens
        lines.append(
            f"| {_cell(sid)} | {step.status.value} | {step.attempt} | {_when(step.started_at)} "
            f"| {took} | {tokens} | ${step.usage.cost_usd:.4f} |"
        )
    lines.append("")
    charts: dict[str, ChartSpec] = {}
    if durations:
        charts["durations"] = ChartSpec(
            kind="bar", title="Step duration (s)", labels=list(durations),
            series={"seconds": list(durations.values())}, colors=["#1f4e79"],
        )  # fmt: skip
        lines += ["![Step durations](chart:durations)", ""]
    if usage.by_step:
        charts["tokens"] = ChartSpec(
            kind="bar",
            title="Tokens per step",
            labels=list(usage.by_step),
            series={
                "prompt": [float(u.prompt_tokens) for u in usage.by_step.values()],
                "completion": [float(u.completion_tokens) for u in usage.by_step.values()],
            },
            colors=["#1f4e79", "#e07b00"],
        )
        lines += ["## Usage", "", "![Tokens per step](chart:tokens)", ""]
    if usage.by_model:
        lines += [
            "| Model | Calls | Prompt | Completion | Cost |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {_cell(m)} | {u.calls} | {u.prompt_tokens} | {u.completion_tokens} | ${u.cost_usd:.4f} |"
            for m, u in usage.by_model.items()
        ]
        lines.append("")
        charts["cost"] = ChartSpec(
            kind="bar", title="Cost per model (USD)", labels=list(usage.by_model),
            series={"USD": [u.cost_usd for u in usage.by_model.values()]}, colors=["#2a9d8f"],
        )  # fmt: skip
        lines += ["![Cost per model](chart:cost)", ""]
    outputs = [(sid, k, v) for sid, s in record.steps.items() for k, v in s.outputs.items()]
    if outputs:
        lines += ["## Outputs", ""]
        for sid, name, value in outputs:
            shown = value if len(value) <= OUTPUT_CHARS else value[:OUTPUT_CHARS] + " …"
            lines += [f"### {sid}: {name}", "", "```text", shown.replace("```", "'''"), "```", ""]
    errors = [(sid, s.error) for sid, s in record.steps.items() if s.error]
    if errors:
        lines += ["## Errors", ""]
        lines += [f"* **{sid}**: {_cell((e or {}).get('message', e))}" for sid, e in errors]
    return "\n".join(lines) + "\n", charts


def write_run_report(record: RunRecord, usage: UsageReport, output: Path) -> int:
    """Render the report to ``output`` (parents created); the number of bytes written."""
    text, charts = report_markdown(record, usage)
    with tempfile.TemporaryDirectory(prefix="orchestra-report-") as scratch:
        pdf, _ = render_pdf(
            text,
            workspace=Workspace(Path(scratch)),
            charts=charts,
            style=PdfStyle(title=f"Run {record.run_id}"),
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(pdf)
    return len(pdf)


__all__ = ["report_markdown", "write_run_report"]
