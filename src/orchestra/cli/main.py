"""The ``orchestra`` command. Sub-commands live in their own modules and import
heavy libraries (SQLAlchemy, LiteLLM, FastAPI) only inside the command bodies,
so ``orchestra --help`` stays fast."""

from __future__ import annotations

import typer

from orchestra.cli import (
    agents_cmd,
    command_cmd,
    config_cmd,
    context_cmd,
    definitions_cmd,
    doctor_cmd,
    keys_cmd,
    mcp_cmd,
    messages_cmd,
    models_cmd,
    run_cmd,
    runs_cmd,
    secrets_cmd,
    serve_cmd,
    tasks_cmd,
    tools_cmd,
    worker_cmd,
)
from orchestra.errors import root_cause

app = typer.Typer(
    name="orchestra",
    help="Run teams of LLM agents defined as Markdown files.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain click help: Typer's Rich help formatter imports ~250 ms of modules.
    rich_markup_mode=None,
)
app.command("init")(definitions_cmd.init)
app.command("validate")(definitions_cmd.validate)
app.command("doctor")(doctor_cmd.doctor)
app.command("command")(command_cmd.command)
app.add_typer(definitions_cmd.show_app, name="show")
app.add_typer(config_cmd.app, name="config")
app.command("run")(run_cmd.run)
app.add_typer(runs_cmd.app, name="runs")
app.add_typer(models_cmd.app, name="models")
app.add_typer(tools_cmd.app, name="tools")
app.command("serve")(serve_cmd.serve)
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(tasks_cmd.app, name="tasks")
app.add_typer(agents_cmd.app, name="agents")
app.command("mcp")(mcp_cmd.mcp)
app.add_typer(secrets_cmd.app, name="secrets")
app.command("worker")(worker_cmd.worker)
app.add_typer(worker_cmd.workers_app, name="workers")
app.add_typer(messages_cmd.app, name="messages")
app.add_typer(context_cmd.app, name="context")


def run() -> None:
    """Console-script entry point.

    An Orchestra error that reaches here (the database full or read-only mid-run, a
    server gone) is printed as its message, with exit code 1: the message says what
    happened and what to do, a traceback would only bury it. The engine runs steps in
    a task group, so the error may arrive inside an ``ExceptionGroup``; it is found
    there. Anything else is a bug and keeps its traceback.
    """
    from orchestra.log import setup_command_logging

    setup_command_logging()
    try:
        app()
    except Exception as error:
        found = root_cause(error)
        if found is None:
            raise
        typer.echo(f"error: {found}", err=True)
        raise SystemExit(1) from None
