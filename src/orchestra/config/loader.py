"""Building ``Settings`` from its layers, and explaining where each value came from.

Precedence, highest first: command-line flags, ``ORCHESTRA_*`` environment
variables, ``orchestra.toml`` in the project folder, defaults. Every problem in
every layer is collected and raised together as one :class:`SettingsError`,
each naming the key, the value, its source and what is allowed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from orchestra.config.errors import NO_VALUE, SettingIssue, SettingsError
from orchestra.config.masking import mask_value
from orchestra.config.settings import Settings
from orchestra.config.sources import (
    Assigned,
    Kind,
    Layer,
    Path_,
    kind_of,
    read_cli_layer,
    read_env_layer,
    read_toml_layer,
    section_model,
    settable_fields,
    unknown_key_problem,
)

DEFAULT_SOURCE = "default"


@dataclass(frozen=True)
class SettingValue:
    """One effective setting: dotted ``key``, JSON-ready ``value`` (masked when it is
    a secret, unless revealed) and ``source`` (``default``, ``orchestra.toml:LINE``,
    ``env ORCHESTRA_X`` or ``cli --flag``)."""

    key: str
    value: object
    source: str


@dataclass(frozen=True)
class _Resolved:
    settings: Settings
    assigned: dict[Path_, Assigned]


def load_settings(
    project_dir: Path,
    overrides: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    flags: Mapping[str, str] | None = None,
) -> Settings:
    """The settings of the project in ``project_dir``.

    ``overrides`` are command-line values by dotted key (``{"database.url": ...}``;
    ``None`` values are ignored, meaning "flag not given"); ``flags`` names the flag
    behind each key for error messages and ``config show``. ``env`` defaults to
    ``os.environ``. Raises :class:`TomlSyntaxError` or :class:`SettingsError`.
    """
    return _resolve(project_dir, overrides, env, flags).settings


def explain_settings(
    project_dir: Path,
    overrides: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    flags: Mapping[str, str] | None = None,
    reveal: bool = False,
) -> list[SettingValue]:
    """Every effective setting with its source, in schema order. Secret values are
    masked unless ``reveal``. Same arguments and errors as :func:`load_settings`."""
    resolved = _resolve(project_dir, overrides, env, flags)
    explained = []
    for path, value in _leaves(resolved.settings, Settings, ()):
        assigned = resolved.assigned.get(path)
        source = assigned.origin if assigned is not None else DEFAULT_SOURCE
        shown = value if reveal else mask_value(path[-1], value)
        explained.append(SettingValue(".".join(path), shown, source))
    return explained


def _resolve(
    project_dir: Path,
    overrides: Mapping[str, object] | None,
    env: Mapping[str, str] | None,
    flags: Mapping[str, str] | None,
) -> _Resolved:
    project = Path(project_dir).expanduser().resolve()
    layers = [
        read_toml_layer(project),
        read_env_layer(os.environ if env is None else env),
        read_cli_layer(overrides or {}, flags or {}),
    ]
    assigned: dict[Path_, Assigned] = {}
    issues: list[SettingIssue] = []
    for layer in layers:  # lowest precedence first
        _merge(assigned, layer)
        issues.extend(layer.issues)
    data = _unflatten(assigned)
    data["project_dir"] = project
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        issues.extend(_issue_from(error, assigned) for error in exc.errors())
        raise SettingsError(issues) from None
    if issues:
        raise SettingsError(issues)
    return _Resolved(settings, assigned)


def _merge(assigned: dict[Path_, Assigned], layer: Layer) -> None:
    """Lay ``layer`` over ``assigned``: a path replaces what a lower layer set at it,
    inside it or above it (a list given whole replaces the list; one mapping key
    replaces only that key)."""
    for path, value in layer.values.items():
        for old in [p for p in assigned if _overlaps(p, path)]:
            del assigned[old]
        assigned[path] = value


def _overlaps(a: Path_, b: Path_) -> bool:
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def _unflatten(assigned: Mapping[Path_, Assigned]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for path, value in assigned.items():
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value.value
    return data


def _leaves(model: BaseModel, cls: type[BaseModel], prefix: Path_) -> list[tuple[Path_, object]]:
    """(path, JSON-ready value) of every setting in ``model``, by the layering rules."""
    found: list[tuple[Path_, object]] = []
    for name, info in settable_fields(cls).items():
        path = (*prefix, name)
        value = getattr(model, name)
        kind = kind_of(info)
        if kind is Kind.SECTION and isinstance(value, BaseModel):
            found.extend(_leaves(value, section_model(info), path))
        elif kind is Kind.MAPPING and isinstance(value, dict) and value:
            found.extend(((*path, str(key)), _jsonable(item)) for key, item in value.items())
        else:
            found.append((path, _jsonable(value)))
    return found


def _jsonable(value: object) -> object:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return value


# ------------------------------------------------------------ error wording


def _issue_from(error: ErrorDetails, assigned: Mapping[Path_, Assigned]) -> SettingIssue:
    loc = tuple(str(part) for part in error["loc"])
    source = _source_of(loc, assigned)
    value: object = NO_VALUE if error["type"] == "missing" else error["input"]
    if value is not NO_VALUE and loc:
        value = mask_value(loc[-1], value)
    return SettingIssue(".".join(loc), value, source, _problem(error, loc))


def _source_of(loc: Path_, assigned: Mapping[Path_, Assigned]) -> str:
    """Where the value at ``loc`` came from: the layer entry at or above it, else
    the entries inside it (a table assembled from several places), else default."""
    for end in range(len(loc), 0, -1):
        hit = assigned.get(loc[:end])
        if hit is not None:
            return hit.refine(loc) if hit.refine is not None else hit.origin
    inside = sorted({a.origin for path, a in assigned.items() if path[: len(loc)] == loc})
    return ", ".join(inside) if inside else DEFAULT_SOURCE


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


_QUOTED = re.compile(r"'([^']*)'")
_SIMPLE_PROBLEMS = {
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "list_type": 'expected a list, e.g. ["a", "b"]',
    "dict_type": "expected a table (key = value pairs)",
    "model_type": "expected a table (key = value pairs)",
    "model_attributes_type": "expected a table (key = value pairs)",
    "path_type": "expected a file path",
    "missing": "required; add it",
    "string_too_short": "must not be empty",
}


def _problem(error: ErrorDetails, loc: Path_) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind == "literal_error":
        return "expected one of " + ", ".join(_QUOTED.findall(str(ctx.get("expected", ""))))
    if kind == "greater_than_equal":
        return f"expected a number >= {_number(ctx['ge'])}"
    if kind == "greater_than":
        return f"expected a number > {_number(ctx['gt'])}"
    if kind == "less_than_equal":
        return f"expected a number <= {_number(ctx['le'])}"
    if kind == "extra_forbidden":
        return _unknown_nested(loc)
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return _SIMPLE_PROBLEMS.get(kind, error["msg"][:1].lower() + error["msg"][1:])


def _unknown_nested(loc: Path_) -> str:
    """Did-you-mean for an unknown key inside a list item (e.g. an MCP server table)."""
    model: type[BaseModel] = Settings
    prefix: Path_ = ()
    for part in loc[:-1]:
        info = model.model_fields.get(part)
        if info is None:
            continue  # a list index
        prefix = (*prefix, part)
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        nested = [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]
        if not nested:
            break
        model = nested[0]
    return unknown_key_problem(model, prefix, loc[-1])
