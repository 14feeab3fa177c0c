"""Orchestra's settings: one typed model, layered from flags, environment,
``orchestra.toml`` and defaults, with the source of every value.

Build settings with :func:`load_settings` (never at import time) and pass them
down; :func:`explain_settings` backs ``orchestra config show``.

The names below are loaded on first use, so importing a light submodule
(``orchestra.config.masking``, used by logging) does not import pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orchestra.config.errors import ConfigError, SettingIssue, SettingsError, TomlSyntaxError
    from orchestra.config.loader import SettingValue, explain_settings, load_settings
    from orchestra.config.settings import (
        DatabaseSettings,
        EngineSettings,
        McpServerSettings,
        ModelDeployment,
        ModelsSettings,
        ServerSettings,
        Settings,
        ToolsSettings,
        WorkspacesSettings,
    )

_HOMES = {
    "ConfigError": "errors",
    "SettingIssue": "errors",
    "SettingsError": "errors",
    "TomlSyntaxError": "errors",
    "SettingValue": "loader",
    "explain_settings": "loader",
    "load_settings": "loader",
    "DatabaseSettings": "settings",
    "EngineSettings": "settings",
    "McpServerSettings": "settings",
    "ModelDeployment": "settings",
    "ModelsSettings": "settings",
    "ServerSettings": "settings",
    "Settings": "settings",
    "ToolsSettings": "settings",
    "WorkspacesSettings": "settings",
}

__all__ = [
    "ConfigError",
    "DatabaseSettings",
    "EngineSettings",
    "McpServerSettings",
    "ModelDeployment",
    "ModelsSettings",
    "ServerSettings",
    "SettingIssue",
    "SettingValue",
    "Settings",
    "SettingsError",
    "TomlSyntaxError",
    "ToolsSettings",
    "WorkspacesSettings",
    "explain_settings",
    "load_settings",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'orchestra.config' has no attribute {name!r}")
    return getattr(importlib.import_module(f"orchestra.config.{home}"), name)
