"""``orchestra command "…"``: say what you want; the planner plans it, you approve, it runs.

The plan is printed as a table and its DAG; ``--dry-run`` stops there (``--json``
prints the validated plan and exits 0); otherwise the run starts after you approve
(``--yes`` approves beforehand; without a terminal, ``--yes`` is required). The run is
an ordinary run of the engine: follow it with ``orchestra runs show``.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from orchestra.cli.project_opts import JsonOption, ProjectOption

if TYPE_CHECKING:
    from orchestra.runtime.commands import CommandPlan


def _dag(planned: CommandPlan) -> list[str]:
    lines = []
    for step in planned.planned.plan.steps:
        after = f"  (after {', '.join(step.depends_on)})" if step.depends_on else ""
        lines.append(f"  {step.id} [{step.agent}]{after}")
    return lines


def _show(planned: CommandPlan) -> None:
    plan = planned.planned.plan
    typer.echo(f"objective: {plan.objective}")
    typer.echo(f"job:       {planned.job_id}")
    if planned.planned.repaired:
        typer.echo("(the model's first plan was invalid and was repaired)")
    typer.echo(f"{'STEP':14} {'AGENT':12} {'ACTION':18} {'AFTER':14} PARAMS")
    for step in plan.steps:
        typer.echo(
            f"{step.id[:14]:14} {step.agent[:12]:12} {step.action[:18]:18} "
            f"{','.join(step.depends_on)[:14]:14} {json.dumps(step.params, ensure_ascii=False)}"
        )
    typer.echo("DAG:")
    for line in _dag(planned):
        typer.echo(line)


def _as_dict(planned: CommandPlan, run_id: str | None, status: str | None) -> dict[str, object]:
    return {
        "command": planned.planned.command,
        "plan": planned.planned.plan.model_dump(),
        "job_id": planned.job_id,
        "answers": planned.planned.answers,
        "repaired": planned.planned.repaired,
        "run_id": run_id,
        "status": status,
    }


def command(
    text: Annotated[str, typer.Argument(help="What you want done, in your words.")],
    context_job: Annotated[
        str | None,
        typer.Option("--context-job", help="Use this job's stored context; results join it."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only; run nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Approve the plan beforehand.")] = False,
    model: Annotated[str, typer.Option(help="The planner's model alias.")] = "default",
    project: ProjectOption = None,
    json_out: JsonOption = False,
) -> None:
    """Plan a command with the project's agents and run it once approved."""
    import asyncio

    from orchestra.cli.run_cmd import load_settings_or_exit
    from orchestra.definitions import DefinitionError
    from orchestra.errors import UserMistake
    from orchestra.runtime.container import Container, ContainerOptions

    settings = load_settings_or_exit(project)

    async def main() -> int:
        container = await Container.open(settings, ContainerOptions(refresh_s=None, resume=False))
        try:
            planned = await container.commands.plan(text, context_job=context_job, model=model)
            if dry_run:
                if json_out:
                    typer.echo(json.dumps(_as_dict(planned, None, "planned"), indent=2))
                else:
                    _show(planned)
                return 0
            if not json_out:
                _show(planned)
            if not yes:
                if not sys.stdin.isatty():
                    typer.echo("error: approve the plan with --yes (no terminal to ask)", err=True)
                    return 2
                if not typer.confirm("Run this plan?"):
                    typer.echo("not run")
                    return 1
            run_id = await container.commands.start(planned)
            if not json_out:
                typer.echo(f"run {run_id} started; follow it with `orchestra runs show {run_id}`")
            record = await container.runs.wait(run_id)
            status = record.status.value
            if json_out:
                typer.echo(json.dumps(_as_dict(planned, str(run_id), status), indent=2))
            else:
                typer.echo(f"run {run_id} {status}")
            return 0 if status == "succeeded" else 1
        finally:
            await container.close()

    try:
        code = asyncio.run(main())
    except (UserMistake, DefinitionError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error
    raise typer.Exit(code)
