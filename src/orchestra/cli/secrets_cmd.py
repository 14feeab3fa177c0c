"""``orchestra secrets``: the AES-256-GCM encrypted secret store (``set``, ``list``,
``delete``, ``rotate-key``). Values never appear in output or logs; ``set`` reads the
value from a hidden prompt or stdin, never from the command line (which ``ps`` and shell
history would show). See docs/protocols.md."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from orchestra.cli.project_opts import ProjectOption, project_root

if TYPE_CHECKING:
    from orchestra.tools.secret_store import EncryptedSecrets

app = typer.Typer(help="Secrets encrypted at rest (AES-256-GCM): provider keys, peer tokens.")


def _store(project: ProjectOption) -> EncryptedSecrets:
    from orchestra.config import ConfigError, load_settings
    from orchestra.tools.errors import SecretStoreError
    from orchestra.tools.secret_store import EncryptedSecrets

    try:
        settings = load_settings(project_root(project))
        return EncryptedSecrets.open(settings.state_dir)
    except (ConfigError, SecretStoreError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from error


@app.command("set")
def set_secret(
    name: Annotated[str, typer.Argument(help="The secret's name, e.g. OPENAI_API_KEY.")],
    project: ProjectOption = None,
) -> None:
    """Store NAME, reading its value from a hidden prompt (or stdin when piped)."""
    store = _store(project)
    if sys.stdin.isatty():
        value = typer.prompt(f"value of {name}", hide_input=True)
    else:
        value = sys.stdin.read().rstrip("\n")
    if not value:
        typer.echo("error: the value is empty; nothing stored", err=True)
        raise typer.Exit(2)
    store.set(name, value)
    typer.echo(f"stored {name} (encrypted); refer to it as os.environ/{name}")


@app.command("list")
def list_secrets(project: ProjectOption = None) -> None:
    """The names of the stored secrets (never their values)."""
    store = _store(project)
    for name in store.names():
        typer.echo(name)


@app.command("delete")
def delete_secret(
    name: Annotated[str, typer.Argument(help="The secret to remove.")],
    project: ProjectOption = None,
) -> None:
    """Remove NAME from the store."""
    store = _store(project)
    if not store.delete(name):
        typer.echo(f"error: no secret {name!r}; `orchestra secrets list` shows them", err=True)
        raise typer.Exit(1)
    typer.echo(f"deleted {name}")


@app.command("rotate-key")
def rotate_key(project: ProjectOption = None) -> None:
    """Re-encrypt every secret under a new key with fresh nonces and replace the key file.
    With ORCHESTRA_SECRETS_KEY set, the new key is printed once for you to store there."""
    import os

    from orchestra.tools.secret_store import KEY_ENV, KEY_FILE, encode_key

    store = _store(project)
    from_env = bool(os.environ.get(KEY_ENV))
    key = store.rotate(key_file=None if from_env else store.path.parent / KEY_FILE)
    count = len(store.names())
    if from_env:
        typer.echo(
            f"re-encrypted {count} secret(s). Set {KEY_ENV} to the new key before the next "
            f"start (shown only this once):\n\n    {encode_key(key)}\n"
        )
    else:
        typer.echo(
            f"re-encrypted {count} secret(s) under a new key in {store.path.parent / KEY_FILE}"
        )
