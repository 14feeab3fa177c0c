"""The ``orchestra`` command. Sub-commands live in their own modules and import
heavy libraries (SQLAlchemy, LiteLLM, FastAPI) only inside the command bodies,
so ``orchestra --help`` stays fast."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="orchestra",
    help="Run teams of LLM agents defined as Markdown files.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def run() -> None:
    """Console-script entry point."""
    app()
