"""The three places settings come from, each read into a *layer* with provenance.

A layer maps a dotted path (``("engine", "max_concurrency")``) to an
:class:`Assigned` value and the place it came from, in the vocabulary of
``orchestra config show``: ``orchestra.toml:LINE``, ``env ORCHESTRA_X``,
``cli --flag``. Sections (tables) are flattened to their fields; mapping
fields (``engine.agent_concurrency``) to one path per key, so layers merge key
by key; lists and scalars are leaves and replace each other whole.

Reading a layer never raises for a bad *value* (validation does that later,
naming the source); it collects unknown keys and undecodable text as
:class:`SettingIssue` so that every problem is reported in one go.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from orchestra.config.errors import SettingIssue, TomlSyntaxError
from orchestra.config.masking import mask_value
from orchestra.config.settings import Settings

ENV_PREFIX = "ORCHESTRA_"
DATABASE_URL_ALIAS = "ORCHESTRA_DATABASE_URL"
TOML_NAME = "orchestra.toml"

Path_ = tuple[str, ...]


class Kind(Enum):
    SECTION = "section"
    MAPPING = "mapping"
    LIST = "list"
    SCALAR = "scalar"


@dataclass(frozen=True)
class Assigned:
    """A value one layer sets, where it came from, and (for TOML) how to name the
    exact line of something nested inside it."""

    value: object
    origin: str
    refine: Callable[[Path_], str] | None = None


@dataclass
class Layer:
    values: dict[Path_, Assigned] = field(default_factory=dict)
    issues: list[SettingIssue] = field(default_factory=list)


# --------------------------------------------------------------------- schema


def _unwrap_optional(annotation: object) -> tuple[object, bool]:
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def kind_of(info: FieldInfo) -> Kind:
    """How a field's values are layered and how text (env, ``--set``) is decoded."""
    annotation, _ = _unwrap_optional(info.annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return Kind.SECTION
    origin = get_origin(annotation)
    if origin is dict:
        return Kind.MAPPING
    if origin in (list, tuple, set):
        return Kind.LIST
    return Kind.SCALAR


def section_model(info: FieldInfo) -> type[BaseModel]:
    annotation, _ = _unwrap_optional(info.annotation)
    if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        raise TypeError(f"{info.annotation!r} is not a settings section")
    return annotation


def settable_fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """Fields a user may set; ``project_dir`` is given by the loader, never by a source."""
    fields = dict(model.model_fields)
    if model is Settings:
        fields.pop("project_dir")
    return fields


def did_you_mean(name: str, choices: list[str]) -> str:
    """``did you mean 'x'? `` for the closest of ``choices``, or an empty string."""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'? " if close else ""


def unknown_key_problem(model: type[BaseModel], prefix: Path_, name: str) -> str:
    """What to say about key ``name`` that ``model`` (at ``prefix``) does not have."""
    choices = sorted(settable_fields(model))
    where = f"keys in [{'.'.join(prefix)}]" if prefix else "top-level keys"
    return f"unknown setting; {did_you_mean(name, choices)}valid {where}: {', '.join(choices)}"


def env_name(path: Path_) -> str:
    """The environment variable that sets ``path``."""
    return ENV_PREFIX + "__".join(path).upper()


def decode_text(text: str, info: FieldInfo) -> object:
    """Turn the text of an env var or ``--set`` into a value for ``info``'s field.

    Lists take JSON (``["a", "b"]``) or comma-separated words; tables and mappings
    take a JSON object; an empty string clears an optional value; scalars stay text
    for pydantic to convert. Raises ``ValueError`` with what was expected.
    """
    kind = kind_of(info)
    _, optional = _unwrap_optional(info.annotation)
    if kind is Kind.SCALAR:
        return None if optional and text == "" else text
    if kind is Kind.LIST and not text.lstrip().startswith("["):
        return [word.strip() for word in text.split(",") if word.strip()]
    try:
        decoded: object = json.loads(text)
    except json.JSONDecodeError as exc:
        shape = "a JSON list" if kind is Kind.LIST else "a JSON object"
        raise ValueError(f"expected {shape} ({exc.msg} at column {exc.colno})") from exc
    return decoded


# ---------------------------------------------------------------- flattening


def flatten_into(
    layer: Layer,
    model: type[BaseModel],
    data: Mapping[str, object],
    prefix: Path_,
    origin: Callable[[Path_], str],
    refine: Callable[[Path_], str] | None = None,
) -> None:
    """Add every value of the nested mapping ``data`` (shaped like ``model``) to
    ``layer``; unknown keys become issues with a did-you-mean."""
    fields = settable_fields(model)
    for name, value in data.items():
        path = (*prefix, name)
        info = fields.get(name)
        if info is None:
            problem = unknown_key_problem(model, prefix, name)
            if model is Settings and name == "project_dir":
                problem = "cannot be set here: the project folder is the one holding orchestra.toml"
            layer.issues.append(_issue(path, value, origin(path), problem))
            continue
        _assign(layer, info, path, value, origin, refine)


def _assign(
    layer: Layer,
    info: FieldInfo,
    path: Path_,
    value: object,
    origin: Callable[[Path_], str],
    refine: Callable[[Path_], str] | None = None,
) -> None:
    """Add ``value`` of field ``info`` at ``path``: a table is flattened to its
    fields, a non-empty mapping to one entry per key, anything else is a leaf."""
    kind = kind_of(info)
    if kind is Kind.SECTION and isinstance(value, Mapping):
        flatten_into(layer, section_model(info), value, path, origin, refine)
    elif kind is Kind.MAPPING and isinstance(value, Mapping) and value:
        for key, item in value.items():
            layer.values[(*path, str(key))] = Assigned(item, origin((*path, str(key))), refine)
    else:
        layer.values[path] = Assigned(value, origin(path), refine)


def _issue(path: Path_, value: object, source: str, problem: str) -> SettingIssue:
    return SettingIssue(".".join(path), mask_value(path[-1], value), source, problem)


@dataclass(frozen=True)
class Target:
    """Where a user-written key (env var, dotted flag key) lands in the schema:
    ``info`` is the field at ``path``, or the mapping field holding the single key
    ``path[-1]`` when ``entry`` is true."""

    path: Path_
    info: FieldInfo
    entry: bool = False


def resolve_path(parts: list[str], joiner: str) -> Target | tuple[Path_, str]:
    """Match user-written key parts to the schema; ``(path, problem)`` when a part
    is unknown. Parts after a mapping field are joined back with ``joiner`` into
    one mapping key, keeping their case (agent names may be capitalised)."""
    model: type[BaseModel] = Settings
    path: Path_ = ()
    for index, part in enumerate(parts):
        name = part.lower()
        info = settable_fields(model).get(name)
        if info is None:
            return (*path, name), unknown_key_problem(model, path, name)
        path = (*path, name)
        rest = parts[index + 1 :]
        kind = kind_of(info)
        if not rest:
            return Target(path, info)
        if kind is Kind.SECTION:
            model = section_model(info)
        elif kind is Kind.MAPPING:
            return Target((*path, joiner.join(rest)), info, entry=True)
        else:
            return path, f"'{name}' is not a table and has no key '{rest[0]}'"
    return path, "empty setting name"


def _place_text(layer: Layer, target: Target, raw: object, source: str) -> None:
    """Decode ``raw`` (text from env or a flag) for ``target`` and add it to ``layer``."""
    value = raw
    if isinstance(raw, str) and not target.entry:
        try:
            value = decode_text(raw, target.info)
        except ValueError as exc:
            layer.issues.append(_issue(target.path, raw, source, str(exc)))
            return
    if target.entry:
        layer.values[target.path] = Assigned(value, source)
    else:
        _assign(layer, target.info, target.path, value, lambda _path: source)


# -------------------------------------------------------------------- layers


def read_toml_layer(project_dir: Path) -> Layer:
    """The ``orchestra.toml`` layer (empty when the file does not exist).

    Raises :class:`TomlSyntaxError` for a file that is not TOML.
    """
    path = project_dir / TOML_NAME
    layer = Layer()
    if not path.is_file():
        return layer
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise TomlSyntaxError(path, line, column, "the file is not UTF-8 text") from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(path, text, exc) from exc
    lines = toml_key_lines(text)

    def origin(key_path: Path_) -> str:
        for end in range(len(key_path), 0, -1):
            line = lines.get(key_path[:end])
            if line is not None:
                return f"{TOML_NAME}:{line}"
        return TOML_NAME

    flatten_into(layer, Settings, document, (), origin, refine=origin)
    return layer


def read_env_layer(env: Mapping[str, str]) -> Layer:
    """The ``ORCHESTRA_*`` layer. ``ORCHESTRA_SECTION__KEY`` sets ``section.key``;
    ``ORCHESTRA_DATABASE_URL`` is an alias of ``ORCHESTRA_DATABASE__URL`` (which wins
    when both are set). Variables that name no setting at the top level are left
    alone (other tools may own them); an unknown key inside a known section is an
    issue."""
    layer = Layer()
    canonical_db = env_name(("database", "url"))
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX):
            continue
        source = f"env {name}"
        if name == DATABASE_URL_ALIAS:
            if canonical_db in env:
                continue
            parts = ["database", "url"]
        else:
            parts = name[len(ENV_PREFIX) :].split("__")
        target = resolve_path(parts, "__")
        if isinstance(target, tuple):
            if len(target[0]) > 1:  # a known section with an unknown key
                layer.issues.append(_issue(target[0], env[name], source, target[1]))
            continue
        _place_text(layer, target, env[name], source)
    return layer


def read_cli_layer(overrides: Mapping[str, object], flags: Mapping[str, str]) -> Layer:
    """The command-line layer: dotted keys (``database.url``) to values; ``None``
    means "flag not given". ``flags`` names the flag that set each key (for
    provenance); otherwise ``--database-url`` style is assumed."""
    layer = Layer()
    for key, raw in overrides.items():
        if raw is None:
            continue
        flag = flags.get(key) or "--" + key.replace(".", "-").replace("_", "-")
        source = f"cli {flag}"
        target = resolve_path(key.split("."), ".")
        if isinstance(target, tuple):
            layer.issues.append(_issue(target[0], raw, source, target[1]))
            continue
        _place_text(layer, target, raw, source)
    return layer


# ---------------------------------------------------------------- TOML lines

_HEADER = re.compile(r"^\[(\[?)\s*(?P<key>[^\[\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY_PART = r"""(?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_\-]+)"""
_KEY_VALUE = re.compile(rf"^(?P<key>{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=(?P<rest>.*)$")
_KEY_TOKENS = re.compile(r""""((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_\-]+)""")
_DECODE_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def _split_key(key: str) -> Path_:
    return tuple(a or b or c for a, b, c in _KEY_TOKENS.findall(key))


def toml_key_lines(text: str) -> dict[Path_, int]:
    """First line (1-based) of every key and table header in a valid TOML text.

    Array-of-tables entries get the index as a path part:
    ``("models", "model_list", "1", "model_name")``.
    """
    lines: dict[Path_, int] = {}
    table: Path_ = ()
    array_counts: dict[Path_, int] = {}
    depth, in_string = 0, ""
    for number, line in enumerate(text.splitlines(), start=1):
        if depth or in_string:
            depth, in_string = _scan(line, depth, in_string)
            continue
        stripped = line.strip()
        header = _HEADER.match(stripped)
        if header:
            table = _split_key(header.group("key"))
            lines.setdefault(table, number)
            if header.group(1):
                index = array_counts.get(table, 0)
                array_counts[table] = index + 1
                table = (*table, str(index))
                lines.setdefault(table, number)
            continue
        pair = _KEY_VALUE.match(stripped)
        if pair:
            lines.setdefault((*table, *_split_key(pair.group("key"))), number)
            depth, in_string = _scan(pair.group("rest"), 0, "")
    return lines


def _scan(text: str, depth: int, in_string: str) -> tuple[int, str]:
    """Bracket depth and open multi-line string after ``text``, to skip the
    continuation lines of a multi-line value."""
    i = 0
    while i < len(text):
        if in_string:
            end = text.find(in_string, i)
            if end < 0:
                return depth, in_string
            i, in_string = end + 3, ""
            continue
        char = text[i]
        if text.startswith(('"""', "'''"), i):
            in_string, i = text[i : i + 3], i + 3
            continue
        if char in "\"'":
            i = _string_end(text, i)
        elif char == "#":
            break
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        i += 1
    return max(depth, 0), in_string


def _string_end(text: str, start: int) -> int:
    quote, i = text[start], start + 1
    while i < len(text) and text[i] != quote:
        i += 2 if quote == '"' and text[i] == "\\" else 1
    return i


def _syntax_error(path: Path, text: str, exc: tomllib.TOMLDecodeError) -> TomlSyntaxError:
    message = str(exc)
    position = _DECODE_POSITION.search(message)
    reason = _DECODE_POSITION.sub("", message).strip()
    if position is None:
        line = text.count("\n") + 1 if "end of document" in message else None
        return TomlSyntaxError(path, line, None, reason.replace("(at end of document)", "").strip())
    return TomlSyntaxError(path, int(position.group(1)), int(position.group(2)), reason)
