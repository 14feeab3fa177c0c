"""Per-plugin settings: each tool plugin reads its own ``[plugins.<name>]`` table, typed.

``orchestra.toml``::

    [plugins.github]
    token = "os.environ/GITHUB_TOKEN"
    default_org = "acme"

The settings model keeps those tables as plain data (Orchestra does not know
the plugins' fields); a plugin validates its table against its own pydantic
model when a tool asks for it::

    class GithubSettings(BaseModel):
        token: str
        default_org: str = ""

    settings = ctx.plugin_settings("github", GithubSettings)

String values written ``os.environ/NAME`` are secrets looked up through the
context's :class:`~orchestra.tools.secrets.SecretProvider`. A table that does
not fit the model raises :class:`~orchestra.tools.errors.PluginSettingsError`
naming the table, the field and what is wrong; a missing table is an empty one
(the model's defaults).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from orchestra.tools.errors import PluginSettingsError
from orchestra.tools.secrets import SecretProvider, resolve_reference

M = TypeVar("M", bound=BaseModel)


class PluginSettings:
    """The ``[plugins.*]`` tables of a project, each validated on demand."""

    def __init__(self, tables: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._tables = {name: dict(table) for name, table in (tables or {}).items()}

    def names(self) -> list[str]:
        """The plugins that have a table."""
        return sorted(self._tables)

    def raw(self, name: str) -> dict[str, Any]:
        """The table as written (secret references unresolved); empty when absent."""
        return dict(self._tables.get(name, {}))

    def section(self, name: str, model: type[M], secrets: SecretProvider) -> M:
        """``[plugins.<name>]`` validated against ``model``, secret references resolved."""
        where = f"[plugins.{name}] in orchestra.toml"
        table = {
            key: resolve_reference(value, secrets, needed_by=f"{where} ({key})")
            for key, value in self._tables.get(name, {}).items()
        }
        try:
            return model.model_validate(table)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(table)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise PluginSettingsError(f"{where} is not valid: {problems}; fix the table") from exc


__all__ = ["PluginSettings"]
