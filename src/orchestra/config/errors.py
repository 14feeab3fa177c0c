"""Errors raised while reading settings.

Every settings error is a *user mistake*: a bad value, an unknown key or a
broken ``orchestra.toml``. None is retryable; the message says what to change.

Tree::

    ConfigError                 any settings problem (catch this in the CLI)
    ├── TomlSyntaxError         orchestra.toml is not valid TOML (file, line, column)
    └── SettingsError           one or more bad settings, all collected at once
                                (each a SettingIssue: key, value, source, what is allowed)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from orchestra.errors import UserMistake


class ConfigError(UserMistake):
    """Base class: the settings cannot be built. Always a user mistake."""

    code: ClassVar[str] = "invalid_settings"
    retryable = False


class TomlSyntaxError(ConfigError):
    """``orchestra.toml`` could not be parsed.

    ``line`` and ``column`` are 1-based, or ``None`` when the parser did not say.
    """

    def __init__(self, path: Path, line: int | None, column: int | None, reason: str) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.reason = reason
        where = str(path)
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(
            f"{where}: error: invalid TOML: {reason}\n"
            "  hint: fix the syntax at that position (strings need quotes, tables look like "
            "[section], lists like [1, 2]); see docs/configuration.md"
        )


class _NoValue:
    """Marker for an issue that has no value to show (e.g. a missing required key)."""

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE: object = _NoValue()


@dataclass(frozen=True)
class SettingIssue:
    """One bad setting.

    ``key`` is dotted (``engine.max_concurrency``); ``source`` uses the provenance
    vocabulary of :func:`orchestra.config.explain_settings` (``orchestra.toml:3``,
    ``env ORCHESTRA_LOG_LEVEL``, ``cli --log-level``, ``default``). ``value`` is
    already masked when the key holds a secret.
    """

    key: str
    value: object
    source: str
    problem: str

    def __str__(self) -> str:
        if self.value is NO_VALUE:
            return f"{self.key} ({self.source}): {self.problem}"
        return f"{self.key} = {self.value!r} ({self.source}): {self.problem}"


class SettingsError(ConfigError):
    """One or more settings are invalid; ``issues`` lists every one of them."""

    def __init__(self, issues: list[SettingIssue]) -> None:
        self.issues = issues
        count = len(issues)
        lines = [f"{count} invalid setting{'s' if count != 1 else ''}:"]
        lines += [f"  - {issue}" for issue in issues]
        lines.append(
            "  hint: fix the value where it came from (orchestra.toml, the ORCHESTRA_* "
            "environment variable or the command-line flag); `orchestra config show` lists "
            "every setting and docs/configuration.md describes each one"
        )
        super().__init__("\n".join(lines))
