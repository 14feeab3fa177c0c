"""What a user submits to create a task, validated against one JSON schema.

The same :class:`TaskDraft` serves ``POST /api/v1/tasks`` (its schema is the request
body's in the OpenAPI document) and ``orchestra tasks create``; :func:`parse_task`
turns pydantic's errors into one :class:`TaskInputError` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orchestra.tasks.errors import TaskInputError

_TAG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class TaskDraft(BaseModel):
    """A task before it is stored: what to do, how hard it is, and who may take it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    complexity: int = Field(default=5, ge=1, le=10)
    """1 (trivial) to 10 (hardest); only agents whose ``complexity`` range holds it take it."""
    agent: str | None = Field(default=None, min_length=1, max_length=100)
    """Only this agent may take it (``delegate`` by name); None: any suited agent."""
    capabilities: tuple[str, ...] = Field(default=(), max_length=20)
    """Tags every taker must have (``capabilities:`` in its agent file)."""
    priority: int = Field(default=5, ge=0, le=9)
    """0–9, higher first; equal priorities go oldest first."""
    workflow: str | None = Field(default=None, min_length=1, max_length=200)
    """Run this workflow (its open ``Agent:`` steps filled by the assignee) instead of a
    one-step run of the assignee."""
    inputs: dict[str, str] = Field(default_factory=dict, max_length=100)
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=200)
    """The same key never creates a second task: the first one is returned."""
    max_attempts: int = Field(default=3, ge=1, le=20)
    """How often the task is requeued after its agent died before it fails."""

    @field_validator("capabilities")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if not _TAG.match(tag):
                raise ValueError(
                    f"capability {tag!r} must be lower-case letters, digits, '.', '_' or '-'"
                )
        return tuple(dict.fromkeys(value))


def parse_task(data: Mapping[str, Any]) -> TaskDraft:
    """Validate ``data`` as a :class:`TaskDraft`; the first problem names its field."""
    try:
        return TaskDraft.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "task"
        raise TaskInputError(field, first["msg"]) from exc
