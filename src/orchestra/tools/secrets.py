"""Where tools get secrets (API tokens, passwords): the :class:`SecretProvider` seam.

A tool never reads ``os.environ`` itself: it asks its context
(``ToolContext.secret(name)``), which asks the process's secret provider, so a
deployment can swap where secrets live (a vault, an encrypted store) without
touching any tool, and tests hand tools a provider of their own.

:class:`EnvSecrets` (the default) reads environment variables. A settings value
written ``os.environ/NAME`` (LiteLLM's convention, which ``config show`` already
treats as a reference, not a secret) names a secret: :func:`resolve_reference`
replaces it with the provider's value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

from orchestra.tools.errors import MissingSecretError

REFERENCE = "os.environ/"
"""Prefix of a settings value that names a secret instead of holding it."""


class SecretProvider(Protocol):
    """Looks secrets up by name; ``None`` when the secret is not set."""

    def get(self, name: str) -> str | None: ...


class EnvSecrets:
    """Secrets from environment variables (``os.environ`` unless a mapping is given)."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = os.environ if env is None else env

    def get(self, name: str) -> str | None:
        value = self._env.get(name)
        return value if value else None


def require_secret(provider: SecretProvider, name: str, *, needed_by: str) -> str:
    """The secret ``name``, or :class:`MissingSecretError` saying how to set it."""
    value = provider.get(name)
    if value is None:
        raise MissingSecretError(
            f"{needed_by} needs the secret {name}, which is not set; set the environment "
            f"variable {name} for the Orchestra process (e.g. `export {name}=...`) and restart it"
        )
    return value


def resolve_reference(value: object, provider: SecretProvider, *, needed_by: str) -> object:
    """``os.environ/NAME`` → the secret ``NAME``; any other value unchanged."""
    if isinstance(value, str) and value.startswith(REFERENCE):
        return require_secret(provider, value.removeprefix(REFERENCE), needed_by=needed_by)
    return value


__all__ = ["REFERENCE", "EnvSecrets", "SecretProvider", "require_secret", "resolve_reference"]
