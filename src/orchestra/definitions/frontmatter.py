"""YAML front matter that remembers where every key came from.

python-frontmatter discards positions; we need them for every error message,
so the front matter is split by hand and composed with PyYAML, whose nodes
carry marks. Lines reported here are lines of the whole file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestra.definitions.diagnostics import Code, Diagnostic
from orchestra.definitions.source_files import clean_text

_FENCE = "---"


@dataclass(slots=True)
class FrontMatter:
    """Parsed front matter plus the body that follows it."""

    data: dict[str, Any]
    key_lines: dict[str, tuple[int, int]]
    """Top-level key -> (line, col) in the file."""
    value_lines: dict[str, tuple[int, int]]
    """Top-level key -> where its value starts (for errors about the value)."""
    nested_lines: dict[str, dict[str, tuple[int, int]]]
    """For mapping values: top-level key -> sub-key -> (line, col)."""
    item_lines: dict[str, list[tuple[int, int]]]
    """For list values: top-level key -> position of each item."""
    body: str
    body_line: int
    """File line where the body starts."""
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def position(self, key: str) -> tuple[int, int]:
        return self.key_lines.get(key, (1, 1))


def split_front_matter(path: Path, text: str) -> FrontMatter:
    """Split ``text`` into front matter and body; problems land in ``diagnostics``."""
    # Only '\n' ends a line, as in markdown-it: str.splitlines() also splits on
    # form feeds and other separators, which would shift every reported line.
    cleaned = clean_text(path, text)
    if cleaned.text is None:
        return FrontMatter({}, {}, {}, {}, {}, "", 1, cleaned.diagnostics)
    text = cleaned.text
    lines = io.StringIO(text).readlines()
    empty = FrontMatter({}, {}, {}, {}, {}, text, 1)
    if not lines or lines[0].rstrip("\r\n").strip() != _FENCE:
        return empty
    end = next(
        (i for i in range(1, len(lines)) if lines[i].rstrip("\r\n").strip() in (_FENCE, "...")),
        None,
    )
    if end is None:
        empty.diagnostics.append(
            Diagnostic(
                path,
                1,
                1,
                Code.FRONT_MATTER,
                "front matter opened with '---' is never closed",
                "add a line containing only '---' after the last front-matter field",
            )
        )
        return empty
    yaml_text = "".join(lines[1:end])
    body = "".join(lines[end + 1 :])
    result = FrontMatter({}, {}, {}, {}, {}, body, end + 2)
    try:
        node = yaml.compose(yaml_text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(yaml_text)
    except yaml.YAMLError as exc:
        line, col, problem = _locate(exc, yaml_text)
        result.diagnostics.append(
            Diagnostic(
                path,
                line,
                col,
                Code.YAML_SYNTAX,
                f"malformed YAML in front matter: {problem}",
                "check indentation and quoting; values containing ':' or '#' need quotes",
            )
        )
        return result
    if data is None:
        return result
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        result.diagnostics.append(
            Diagnostic(
                path,
                2,
                1,
                Code.FRONT_MATTER,
                "front matter must be a mapping of 'key: value' lines",
                "write fields like 'name: analyst', one per line",
            )
        )
        return result
    result.diagnostics += _duplicate_keys(path, node)
    result.data = {str(k): v for k, v in data.items()}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        result.key_lines[key] = _pos(key_node)
        result.value_lines[key] = _pos(value_node)
        if isinstance(value_node, yaml.MappingNode):
            result.nested_lines[key] = {str(k.value): _pos(k) for k, _ in value_node.value}
        elif isinstance(value_node, yaml.SequenceNode):
            result.item_lines[key] = [_pos(item) for item in value_node.value]
    return result


def _duplicate_keys(path: Path, node: yaml.Node) -> list[Diagnostic]:
    """YAML lets a later key silently replace an earlier one; in a definition that hides
    a mistake (two ``tools:`` lists, say), so every repeat is an error at its place."""
    found: list[Diagnostic] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, tuple[int, int]] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                line, col = _pos(key_node)
                found.append(
                    Diagnostic(
                        path,
                        line,
                        col,
                        Code.DUPLICATE_KEY,
                        f"'{key}' is given twice (first on line {seen[key][0]})",
                        "keep one: YAML would silently use only the last one",
                    )
                )
            else:
                seen[key] = _pos(key_node)
            found += _duplicate_keys(path, value_node)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            found += _duplicate_keys(path, item)
    return found


def _pos(node: yaml.Node) -> tuple[int, int]:
    # +2: one for 1-based lines, one for the opening '---' fence.
    return node.start_mark.line + 2, node.start_mark.column + 1


def _locate(exc: yaml.YAMLError, text: str) -> tuple[int, int, str]:
    """File line, column and wording of a YAML error."""
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line = before.count("\n") + 2
        col = len(before) - (before.rfind("\n") + 1) + 1
        return line, col, f"character {exc.character!r} is not allowed (remove it)"
    if isinstance(exc, yaml.MarkedYAMLError):
        # The problem mark is where parsing failed; when that is the end of the
        # text (an unclosed quote or bracket) the context mark, where the
        # broken construct starts, is the useful place.
        at_end = "end of stream" in (exc.problem or "")
        mark = (exc.context_mark if at_end else None) or exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "invalid YAML"
        if mark is not None:
            return mark.line + 2, mark.column + 1, problem
        return 2, 1, problem
    return 2, 1, str(exc)
