"""``orchestra agents list|show|pause|resume|retire``: the registered agents as workers.

Each command first registers the project's agent files (new or changed ones), so what it
shows is the files as they are now plus what the store knows (state, load, sessions).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from orchestra.cli.project_opts import JsonOption, ProjectOption
from orchestra.cli.team_db import as_json, when, with_team

if TYPE_CHECKING:
    from orchestra.agents.lifecycle import AgentState
    from orchestra.config import Settings
    from orchestra.definitions import Project
    from orchestra.store.database import Database
    from orchestra.store.team.agents import AgentRow, SessionRow, TransitionRow

app = typer.Typer(help="See and steer the agents that take tasks.", no_args_is_help=True)
AgentArg = Annotated[str, typer.Argument(help="Agent name (see `orchestra agents list`).")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (stored with the move).")]


@app.command("list")
def list_agents(
    retired: Annotated[bool, typer.Option("--retired", help="Include retired agents.")] = False,
    project: ProjectOption = None,
    json_out: JsonOption = False,
) -> None:
    """Every registered agent: state, tasks held, capabilities, complexity range."""
    from rich.console import Console
    from rich.table import Table

    from orchestra.store.team import AgentRepository

    async def work(database: Database, _loaded: Project, _settings: Settings) -> list[AgentRow]:
        return await AgentRepository(database).list(include_retired=retired)

    rows = with_team(project, work)
    if json_out:
        typer.echo(as_json(rows))
        return
    table = Table("agent", "state", "tasks", "capabilities", "complexity", "last active")
    for row in rows:
        table.add_row(
            row.name,
            row.state.value,
            f"{row.active_tasks}/{row.max_tasks}",
            ", ".join(row.capabilities),
            f"{row.complexity_min}-{row.complexity_max}",
            when(row.last_active_at),
        )
    Console().print(table)


@app.command("show")
def show(name: AgentArg, project: ProjectOption = None, json_out: JsonOption = False) -> None:
    """One agent: its profile, state history, sessions and success rate."""
    from orchestra.store.team import AgentRepository

    async def work(
        database: Database, _loaded: Project, _settings: Settings
    ) -> tuple[AgentRow, list[TransitionRow], list[SessionRow], tuple[int, int]]:
        agents = AgentRepository(database)
        row = await agents.get(name)
        return (
            row,
            await agents.transitions(name),
            await agents.sessions(name),
            await agents.success_rate(name),
        )

    row, moves, sessions, (succeeded, ended) = with_team(project, work)
    if json_out:
        typer.echo(
            as_json(
                {
                    "agent": row,
                    "transitions": moves,
                    "sessions": sessions,
                    "succeeded": succeeded,
                    "ended": ended,
                }
            )
        )
        return
    typer.echo(f"agent {row.name} · {row.state.value} · {row.active_tasks}/{row.max_tasks} tasks")
    if row.description:
        typer.echo(f"  {row.description}")
    typer.echo(
        f"  capabilities {', '.join(row.capabilities) or '-'}; complexity "
        f"{row.complexity_min}-{row.complexity_max}; weight {row.weight:g}; model {row.model}"
    )
    rate = f"{succeeded}/{ended} sessions succeeded" if ended else "no finished sessions yet"
    typer.echo(f"  {rate}; {row.consecutive_failures} failure(s) in a row")
    typer.echo("  states:")
    for move in moves[-10:]:
        source = move.source.value if move.source else "·"
        typer.echo(
            f"    {when(move.at)}  {source} → {move.target.value:<8} {move.by:<12} {move.reason}"
        )
    if sessions:
        typer.echo("  sessions:")
        for session in sessions[:10]:
            tokens = session.prompt_tokens + session.completion_tokens
            typer.echo(
                f"    {when(session.started_at)}  task {session.task_id[:12]}  "
                f"{session.outcome or 'working'}  {tokens} tokens  ${session.cost_usd:.4f}"
            )


def _move(name: str, target: AgentState, reason: str, project: ProjectOption) -> AgentRow:
    from orchestra.store.team import AgentRepository

    async def work(database: Database, _loaded: Project, _settings: Settings) -> AgentRow:
        return await AgentRepository(database).transition(name, target, by="cli", reason=reason)

    return with_team(project, work)


def _move_command(target: str, done: str, help_text: str) -> Callable[..., None]:
    """One of pause/resume/retire: the same command moving the agent to ``target``."""

    def command(
        name: AgentArg, reason: ReasonOption = f"{done} from the CLI", project: ProjectOption = None
    ) -> None:
        from orchestra.agents.lifecycle import AgentState

        row = _move(name, AgentState(target), reason, project)
        typer.echo(f"agent {row.name} {row.state.value}")

    command.__doc__ = help_text
    return command


app.command("pause")(
    _move_command("paused", "paused", "Stop giving the agent new tasks (what it holds runs on).")
)
app.command("resume")(
    _move_command(
        "idle", "resumed", "Let a paused, failing (error) or offline agent take tasks again."
    )
)
app.command("retire")(
    _move_command(
        "retired",
        "retired",
        "Retire the agent for good: it takes no more tasks and leaves the listings.",
    )
)
