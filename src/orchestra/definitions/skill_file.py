"""Skill files: Markdown with optional front matter (name, description)."""

from __future__ import annotations

from pathlib import Path

from orchestra.definitions.diagnostics import Code, Diagnostic
from orchestra.definitions.fields import check_unknown_keys
from orchestra.definitions.frontmatter import split_front_matter
from orchestra.definitions.specs import SkillSpec

SKILL_FIELDS = ("name", "description")


def parse_skill(path: Path, text: str) -> tuple[SkillSpec | None, list[Diagnostic]]:
    """Parse one skill file; the spec is None when there are errors."""
    fm = split_front_matter(path, text)
    diagnostics = list(fm.diagnostics)
    diagnostics += check_unknown_keys(fm, SKILL_FIELDS, path, "skill")
    body = fm.body.strip()
    if not body and not diagnostics:
        diagnostics.append(
            Diagnostic(
                path,
                fm.body_line,
                1,
                Code.EMPTY_INSTRUCTION,
                "skill has no text",
                "write the instructions this skill adds to an agent's system prompt",
            )
        )
    if diagnostics:
        return None, diagnostics
    name = str(fm.data.get("name") or path.stem)
    description = str(fm.data.get("description") or "")
    return SkillSpec(name=name, description=description, body=body, path=path), []
