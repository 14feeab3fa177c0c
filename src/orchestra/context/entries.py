"""A context entry: what was learnt, about which job, and who wrote it.

:class:`ContextDraft` is what ``POST /api/v1/context``, ``orchestra context add``, the
``context.add`` tool and a step's ``Remember:`` bullet submit; the limits here apply to
all of them, so no path stores an entry the others would refuse. ``context_data`` is any
JSON value up to :data:`MAX_DATA_BYTES` once serialised.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from orchestra.context.errors import ContextInputError

MAX_DATA_BYTES = 64 * 1024
MAX_TAGS = 20
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_JOB_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

SourceKind = Literal["user", "step"]


class Provenance(BaseModel):
    """Who wrote an entry: a user (``by``), or a run's step and its agent."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SourceKind = "user"
    by: str = Field(default="local", max_length=200)
    run_id: str | None = Field(default=None, max_length=32)
    step_id: str | None = Field(default=None, max_length=100)
    agent: str | None = Field(default=None, max_length=100)

    def label(self) -> str:
        """One line for a prompt or a table: ``step find of run r1 (agent lincoln)``."""
        if self.kind == "step":
            agent = f" (agent {self.agent})" if self.agent else ""
            return f"step {self.step_id} of run {self.run_id}{agent}"
        return f"user {self.by}"


def _check_tags(value: tuple[str, ...]) -> tuple[str, ...]:
    for tag in value:
        if not _TAG.match(tag):
            raise ValueError(
                f"tag {tag!r} must be 1-64 letters, digits, '.', '_', ':' or '-' "
                "starting with a letter or digit"
            )
    return tuple(dict.fromkeys(value))


def _check_data(value: Any) -> Any:
    size = len(json.dumps(value, separators=(",", ":")).encode())
    if size > MAX_DATA_BYTES:
        raise ValueError(f"is {size} bytes of JSON; the limit is {MAX_DATA_BYTES}")
    return value


class ContextDraft(BaseModel):
    """An entry before it is stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str = Field(min_length=1, max_length=200)
    """The job (a command, a run, a campaign) the entry belongs to."""
    job_type: str = Field(min_length=1, max_length=100)
    """What kind of job (``prospecting``): what agents ask for in ``context: job_type``."""
    context_data: Any
    """Any JSON value: search parameters, a page's state, results, user feedback."""
    tags: tuple[str, ...] = Field(default=(), max_length=MAX_TAGS)

    @field_validator("job_type")
    @classmethod
    def _job_type(cls, value: str) -> str:
        if not _JOB_TYPE.match(value):
            raise ValueError("must be letters, digits, '.', '_' or '-' starting with one of them")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_tags(value)

    @field_validator("context_data")
    @classmethod
    def _data(cls, value: Any) -> Any:
        return _check_data(value)


class ContextPatch(BaseModel):
    """A change to an entry (``PUT``): only the fields given change."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    job_id: str | None = Field(default=None, min_length=1, max_length=200)
    job_type: str | None = Field(default=None, min_length=1, max_length=100)
    context_data: Any = None
    tags: tuple[str, ...] | None = Field(default=None, max_length=MAX_TAGS)

    @field_validator("job_type")
    @classmethod
    def _job_type(cls, value: str | None) -> str | None:
        if value is not None and not _JOB_TYPE.match(value):
            raise ValueError("must be letters, digits, '.', '_' or '-' starting with one of them")
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        return None if value is None else _check_tags(value)

    @field_validator("context_data")
    @classmethod
    def _data(cls, value: Any) -> Any:
        return _check_data(value)


@dataclass(frozen=True, slots=True)
class ContextFilter:
    """What ``list`` and ``search`` narrow to; every field given must match."""

    job_id: str | None = None
    job_type: str | None = None
    tag: str | None = None
    since: float | None = None
    """Created at or after (UNIX seconds)."""
    until: float | None = None
    """Created before (UNIX seconds)."""
    run_id: str | None = None


ANY_ENTRY = ContextFilter()
"""The filter that matches every entry."""


@dataclass(frozen=True, slots=True)
class ContextEntry:
    """A stored entry. ``rank`` is set by a search (higher is more relevant)."""

    id: int
    job_id: str
    job_type: str
    context_data: Any
    tags: tuple[str, ...]
    provenance: Provenance
    created_at: float
    updated_at: float
    rank: float | None = None


def parse_context_data(raw: str) -> Any:
    """Parse ``raw`` as JSON for ``context_data``; bad JSON names its line and column."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ContextInputError(
            "context_data",
            f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            'quote strings and keys, e.g. \'{"city": "Berlin"}\'',
        ) from None


def validate_draft(data: dict[str, Any]) -> ContextDraft:
    """Validate ``data`` as a :class:`ContextDraft`; the first problem names its field."""
    try:
        return ContextDraft.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "entry"
        raise ContextInputError(field, first["msg"]) from None
