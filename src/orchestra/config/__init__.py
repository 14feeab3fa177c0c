"""Orchestra's settings: one typed model, layered from flags, environment,
``orchestra.toml`` and defaults, with the source of every value.

Build settings with :func:`load_settings` (never at import time) and pass them
down; :func:`explain_settings` backs ``orchestra config show``.
"""

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
