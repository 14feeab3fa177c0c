"""Agent files (``*.agent.md``): YAML front matter, system prompt in the body."""

from __future__ import annotations

import fnmatch
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from orchestra.definitions.diagnostics import Code, Diagnostic, outside_project
from orchestra.definitions.fields import (
    as_str_list,
    check_unknown_keys,
    expose_list,
    validation_diagnostics,
)
from orchestra.definitions.frontmatter import FrontMatter, split_front_matter
from orchestra.definitions.specs import AgentSpec, SkillSpec

AGENT_FIELDS = (
    "name",
    "model",
    "temperature",
    "skills",
    "tools",
    "description",
    "capabilities",
    "complexity",
    "max_tasks",
    "weight",
    "max_turns",
    "tool_choice",
    "mcp",
    "cache",
    "budget",
    "expose",
    "a2a",
    "a2a_token",
    "a2a_balance",
    "a2a_weights",
    "context",
)

SkillLoader = Callable[[Path], tuple[SkillSpec | None, list[Diagnostic]]]
"""Reads a skill file; the project loader passes a caching one."""

_SPEC_FIELD = {"mcp": "mcp_servers"}


def parse_agent(
    path: Path, text: str, load_skill: SkillLoader, allows: Callable[[Path], bool] | None = None
) -> tuple[AgentSpec | None, list[Diagnostic]]:
    """Parse one agent file; the spec is None when there are errors.

    ``allows`` says whether a skill file may be read (the project confines links to its
    folder); without it every path is allowed."""
    fm = split_front_matter(path, text)
    diagnostics = list(fm.diagnostics)
    if diagnostics:
        return None, diagnostics
    diagnostics += check_unknown_keys(fm, AGENT_FIELDS, path, "agent")
    values: dict[str, Any] = {k: v for k, v in fm.data.items() if k in AGENT_FIELDS}
    values["name"] = str(values.get("name") or path.name.removesuffix(".agent.md"))
    values["system_prompt"] = fm.body.strip()
    values["path"] = path
    for key in ("expose", "a2a", "a2a_weights"):
        if key in values:
            values[key] = expose_list(values[key])
    weights, peers = values.get("a2a_weights", ()), values.get("a2a", ())
    if weights and isinstance(weights, tuple) and len(weights) != len(peers):
        line, col = fm.position("a2a_weights")
        diagnostics.append(
            Diagnostic(
                path,
                line,
                col,
                Code.INVALID_VALUE,
                f"'a2a_weights' has {len(weights)} weights for {len(peers)} 'a2a' endpoints",
                "give one weight per URL in 'a2a', in the same order",
            )
        )
    if not values["system_prompt"] and not values.get("a2a"):
        diagnostics.append(
            Diagnostic(
                path,
                fm.body_line,
                1,
                Code.EMPTY_INSTRUCTION,
                f"agent '{values['name']}' has no system prompt",
                "write the agent's system prompt below the closing '---' of the front matter",
            )
        )
    for key in ("tools", "capabilities"):
        if key in values:
            items = as_str_list(values.pop(key))
            if items is None:
                diagnostics.append(_list_error(fm, path, key))
            else:
                values[key] = tuple(items)
    if "skills" in values:
        values["skills"], found = _load_skills(
            fm, path, values.pop("skills"), load_skill, allows or (lambda _path: True)
        )
        diagnostics += found
    if "complexity" in values:
        values["complexity"] = _complexity(values["complexity"])
    if "tool_choice" in values:
        choices, found = _tool_choice(fm, path, values.pop("tool_choice"), values.get("tools", ()))
        values["tool_choice"] = choices
        diagnostics += found
    if "mcp" in values:
        servers, found = _mcp_servers(fm, path, values.pop("mcp"))
        values["mcp_servers"] = servers
        diagnostics += found
    try:  # validate even when other fields were wrong, so every mistake is reported at once
        spec = AgentSpec.model_validate(values)
    except ValidationError as exc:
        positions = {_SPEC_FIELD.get(k, k): pos for k, pos in fm.value_lines.items()}
        diagnostics += validation_diagnostics(exc, path, positions)
        return None, diagnostics
    return (None, diagnostics) if diagnostics else (spec, [])


def _list_error(fm: FrontMatter, path: Path, key: str) -> Diagnostic:
    line, col = fm.position(key)
    return Diagnostic(
        path,
        line,
        col,
        Code.INVALID_VALUE,
        f"'{key}' must be a list of names",
        f"write '{key}: [first, second]'",
    )


def _load_skills(
    fm: FrontMatter,
    path: Path,
    raw: Any,
    load_skill: SkillLoader,
    allows: Callable[[Path], bool],
) -> tuple[tuple[SkillSpec, ...], list[Diagnostic]]:
    items = as_str_list(raw)
    if items is None:
        return (), [_list_error(fm, path, "skills")]
    positions = fm.item_lines.get("skills") or [fm.position("skills")] * len(items)
    skills: list[SkillSpec] = []
    diagnostics: list[Diagnostic] = []
    for item, (line, col) in zip(items, positions, strict=False):
        skill_path = (path.parent / item).resolve()
        if not skill_path.is_file():
            nearby = (
                sorted(p.name for p in skill_path.parent.glob("*.md"))
                if skill_path.parent.is_dir()
                else []
            )
            hint = (
                f"skill files next to it: {', '.join(nearby)}"
                if nearby
                else ("paths are relative to the agent file, e.g. '../skills/research.md'")
            )
            diagnostics.append(
                Diagnostic(
                    path, line, col, Code.MISSING_FILE, f"skill file '{item}' not found", hint
                )
            )
            continue
        if not allows(path.parent / item):
            diagnostics.append(outside_project(path, Path(item), line, col, path.parent / item))
            continue
        skill, found = load_skill(skill_path)
        diagnostics += found
        if skill is not None:
            skills.append(skill)
    return tuple(skills), diagnostics


def _complexity(raw: Any) -> Any:
    if isinstance(raw, list) and len(raw) == 2:
        return {"min": raw[0], "max": raw[1]}
    if isinstance(raw, int):
        return {"min": raw, "max": raw}
    return raw  # let pydantic report the problem with the allowed shapes


def _mcp_servers(fm: FrontMatter, path: Path, raw: Any) -> tuple[list[Any], list[Diagnostic]]:
    line, col = fm.position("mcp")
    bad = Diagnostic(
        path,
        line,
        col,
        Code.INVALID_VALUE,
        "'mcp' must be a list of servers, each with a name and either a command or a url",
        "write e.g. 'mcp: [{name: notes, command: \"python notes_server.py\"}]'",
    )
    if not isinstance(raw, list):
        return [], [bad]
    servers: list[Any] = []
    for entry in raw:
        if not isinstance(entry, dict) or "name" not in entry:
            return [], [bad]
        server = dict(entry)
        if isinstance(server.get("command"), str):
            server["command"] = shlex.split(server["command"])
        if (server.get("command") is None) == (server.get("url") is None):
            return [], [bad]
        servers.append(server)
    return servers, []


TOOL_CHOICE_MODES = ("auto", "required", "none")
"""The non-name values of ``tool_choice`` (LiteLLM/OpenAI semantics)."""


def _tool_choice(
    fm: FrontMatter, path: Path, raw: Any, tools: tuple[str, ...]
) -> tuple[tuple[str, ...], list[Diagnostic]]:
    """``tool_choice: required`` or a list, one entry per model call; names must be the
    agent's tools."""
    line, col = fm.position("tool_choice")

    def invalid(at: tuple[int, int], message: str, hint: str) -> Diagnostic:
        return Diagnostic(path, at[0], at[1], Code.INVALID_VALUE, message, hint)

    items = [raw] if isinstance(raw, str) else as_str_list(raw)
    if not items:
        return (), [
            invalid(
                (line, col),
                "'tool_choice' must be auto, required, none, a tool name, or a list of those "
                "(one per model call)",
                "write e.g. 'tool_choice: required' or 'tool_choice: [shell, files.write, none]'",
            )
        ]
    if not tools:
        return (), [
            invalid(
                (line, col),
                "'tool_choice' is set but the agent has no 'tools'",
                "list the agent's tools in 'tools: [...]' or remove 'tool_choice'",
            )
        ]
    positions = fm.item_lines.get("tool_choice") or [(line, col)] * len(items)
    example = next((t for t in tools if "*" not in t), "shell")
    diagnostics = [
        invalid(
            at,
            f"tool_choice '{item}' is neither auto, required, none nor one of the agent's "
            f"tools ({', '.join(tools)})",
            f"name a tool the agent's 'tools' list allows, e.g. '{example}', or use required",
        )
        for item, at in zip(items, positions, strict=False)
        if item not in TOOL_CHOICE_MODES
        and not any(fnmatch.fnmatchcase(item, p.partition("@")[0]) for p in tools)
    ]
    return tuple(items), diagnostics
