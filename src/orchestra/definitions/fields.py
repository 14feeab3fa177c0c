"""Turning front-matter values into spec fields, with errors that point at the line.

Shared by the agent, skill and workflow parsers: unknown keys get a
did-you-mean, and pydantic's validation errors are rewritten into sentences
that say what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orchestra.definitions.diagnostics import Code, Diagnostic, did_you_mean
from orchestra.definitions.frontmatter import FrontMatter

_ALLOWED_HINTS: dict[str, str] = {
    "temperature": "use a number from 0 to 2, e.g. 'temperature: 0.2'",
    "max_turns": "use a whole number from 1 to 200",
    "retries": "use a whole number from 0 to 20, e.g. '* **Retries:** 2'",
    "timeout_s": "write a duration such as 30s, 5m or 1h",
    "complexity": "write 'complexity: [1, 5]' (two numbers from 1 to 10)",
    "max_tasks": "use a whole number from 1 to 100: how many tasks the agent takes at once",
    "weight": "use a positive number, e.g. 'weight: 2' (the weighted strategy's share)",
    "model": "name an alias from orchestra.toml [models] or a LiteLLM model string",
}


def check_unknown_keys(
    fm: FrontMatter, allowed: Iterable[str], path: Path, kind: str
) -> list[Diagnostic]:
    """One diagnostic per front-matter key that ``kind`` files do not know."""
    allowed = sorted(allowed)
    found = []
    for key in fm.data:
        if key in allowed:
            continue
        line, col = fm.position(key)
        guess = did_you_mean(key, allowed)
        found.append(
            Diagnostic(
                path,
                line,
                col,
                Code.UNKNOWN_FIELD,
                f"unknown field '{key}' in {kind} front matter",
                f"{guess} Known fields: {', '.join(allowed)}".strip(),
            )
        )
    return found


def validation_diagnostics(
    exc: ValidationError,
    path: Path,
    positions: Mapping[str, tuple[int, int]],
    default: tuple[int, int] = (1, 1),
    field_names: Mapping[str, str] | None = None,
) -> list[Diagnostic]:
    """Rewrite a pydantic ValidationError as located diagnostics.

    ``positions`` maps a spec field to where its value was written;
    ``field_names`` maps a spec field to what the user wrote (``timeout_s`` ->
    ``Timeout``) so messages use the user's words.
    """
    names = field_names or {}
    found = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        field = loc[0] if loc else ""
        line, col = positions.get(field, default)
        shown = names.get(field, field)
        value = error.get("input")
        message = f"invalid value {value!r} for '{shown}': {_sentence(error['msg'])}"
        found.append(
            Diagnostic(
                path,
                line,
                col,
                Code.INVALID_VALUE,
                message,
                _ALLOWED_HINTS.get(field, "see docs/file-formats.md for the allowed values"),
            )
        )
    return found


def _sentence(msg: str) -> str:
    return msg[0].lower() + msg[1:] if msg else msg


_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)?\s*$"
)


def parse_duration(text: str) -> float | None:
    """Seconds in '30s', '5m', '1.5h' or a bare number of seconds; None if it is not a duration."""
    match = _DURATION.match(str(text))
    if not match:
        return None
    amount, unit = float(match.group(1)), (match.group(2) or "s")
    if unit == "ms":
        return amount / 1000
    if unit.startswith("h"):
        return amount * 3600
    if unit.startswith("m"):
        return amount * 60
    return amount


def as_str_list(value: Any) -> list[str] | None:
    """A YAML value that should be a list of strings (a lone string counts as one item)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    return None


def expose_list(value: Any) -> Any:
    """``expose: a2a`` or ``expose: [a2a, mcp]`` as a tuple; any other shape is returned
    as it is, for the spec's validation to report with the allowed values."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(value)
    return value
