"""Logging: one setup function, two transports, run context on every record.

* :func:`setup_logging` installs a console transport (Rich, for people, on
  stderr so command output on stdout stays clean) and a file transport (one
  JSON object per line, rotated by size). Calling it again replaces both; it
  never stacks handlers.
* :func:`log_context` binds ``run_id``, ``step_id`` and ``agent`` in a
  :mod:`contextvars` variable. A filter on each transport stamps them on every
  record, so they follow asyncio tasks (a task copies the context it was
  created in) without passing loggers around.
* A redaction filter masks known secret values from the settings and
  secret-looking text (``sk-...``, ``Bearer ...``, URL passwords) in messages,
  extra fields and tracebacks before any transport formats them.

Code logs with ``logging.getLogger(__name__)`` as usual; this module only
decides where records go. Stdlib only at import time (Rich is imported by
:func:`setup_logging`), so the CLI can import it cheaply.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, TextIO

from orchestra.config.masking import collect_secrets, redact_text

if TYPE_CHECKING:
    from orchestra.config.settings import Settings

LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
CONTEXT_FIELDS: Final = ("run_id", "step_id", "agent")
CONSOLE_HANDLER: Final = "orchestra.console"
FILE_HANDLER: Final = "orchestra.file"
DEFAULT_MAX_BYTES: Final = 10_000_000
DEFAULT_BACKUPS: Final = 5

_context: ContextVar[Mapping[str, str]] = ContextVar(
    "orchestra_log_context", default=MappingProxyType({})
)

# Attributes every LogRecord has; anything else came from ``extra=`` and is logged too.
_STANDARD_ATTRS: Final = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None))
) | {"message", "asctime", "taskName", *CONTEXT_FIELDS}


@contextmanager
def log_context(
    *, run_id: str | None = None, step_id: str | None = None, agent: str | None = None
) -> Iterator[Mapping[str, str]]:
    """Bind run fields for every record logged inside the block (and in tasks started
    inside it). Fields left ``None`` keep the outer value, so a step context nests in
    a run context. Yields the fields now in effect."""
    given = {"run_id": run_id, "step_id": step_id, "agent": agent}
    merged = {**_context.get(), **{key: value for key, value in given.items() if value}}
    token = _context.set(merged)
    try:
        yield merged
    finally:
        _context.reset(token)


def current_log_context() -> dict[str, str]:
    """The run fields bound here (empty outside any :func:`log_context`)."""
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Stamps ``run_id``, ``step_id`` and ``agent`` from the current context on each
    record (``None`` when unbound). Values passed with ``extra=`` win."""

    def filter(self, record: logging.LogRecord) -> bool:
        bound = _context.get()
        for field in CONTEXT_FIELDS:
            if getattr(record, field, None) is None:
                setattr(record, field, bound.get(field))
        return True


class RedactionFilter(logging.Filter):
    """Masks ``secrets`` (exact values) and secret-looking patterns in the message,
    string extras, traceback and stack of each record. Never drops a record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = frozenset(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a broken format string: the transport reports it via handleError
        record.msg, record.args = self._redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, name, self._redact(value))
        return True

    def _redact(self, text: str) -> str:
        return redact_text(text, self.secrets)


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per record: ``ts`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, ``run_id``, ``step_id``, ``agent``, any ``extra=`` fields, and
    ``exc_info`` (the formatted traceback) when an exception was logged."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in CONTEXT_FIELDS:
            entry[field] = getattr(record, field, None)
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRS and name not in entry:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    """The message, then the bound run fields in brackets, then any traceback.

    An expected operational failure (a retryable ``RuntimeFailure``: the database full,
    read-only or unreachable) shows its message instead of the traceback, which says
    nothing more to an operator; the file transport keeps the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        failure = _expected_failure(record)
        if failure is None:
            return super().format(record)
        record.message = record.getMessage()
        return f"{self.formatMessage(record)}: {redact_text(failure)}"

    def formatMessage(self, record: logging.LogRecord) -> str:
        bound = [
            f"{field}={value}"
            for field in CONTEXT_FIELDS
            if (value := getattr(record, field, None)) is not None
        ]
        return f"{record.message} [{' '.join(bound)}]" if bound else record.message


def _expected_failure(record: logging.LogRecord) -> str | None:
    from orchestra.errors import RuntimeFailure, root_cause

    if not record.exc_info or record.exc_info[1] is None:
        return None
    found = root_cause(record.exc_info[1])
    if isinstance(found, RuntimeFailure) and found.retryable:
        return str(found)
    return None


def setup_logging(
    settings: Settings | None = None,
    *,
    level: str | None = None,
    log_file: Path | None = None,
    file: bool = True,
    console: bool = True,
    console_stream: TextIO | None = None,
    max_bytes: int | None = None,
    backups: int | None = None,
    secrets: Iterable[str] = (),
) -> None:
    """Route the root logger to the console and the JSON-lines file.

    Values come from ``settings`` (``log_level``, ``log_file``, rotation, and every
    secret in it for redaction); explicit arguments win. Without settings and
    without ``log_file`` there is no file transport. ``file=False`` or
    ``console=False`` turns a transport off. Safe to call again: the previous
    Orchestra handlers are closed and replaced.
    """
    chosen = (level or (settings.log_level if settings else "INFO")).upper()
    if chosen not in LEVELS:
        raise ValueError(f"log level {chosen!r} is not one of {', '.join(LEVELS)}")
    path = log_file or (settings.log_file if settings else None)
    known = set(secrets)
    if settings is not None:
        known |= collect_secrets(settings.model_dump(mode="json"))

    teardown_logging()
    root = logging.getLogger()
    root.setLevel(chosen)
    filters: list[logging.Filter] = [ContextFilter(), RedactionFilter(known)]
    if console:
        root.addHandler(_console_handler(console_stream, filters))
    if file and path is not None:
        rotation_bytes = max_bytes or (settings.log_file_max_bytes if settings else None)
        kept = backups if backups is not None else (settings.log_file_backups if settings else None)
        root.addHandler(_file_handler(Path(path), rotation_bytes, kept, filters))


def setup_command_logging() -> None:
    """Warnings and errors of a CLI command to stderr, through :class:`ConsoleFormatter`
    (an expected failure as one line, not a traceback), until a command that wants the
    full transports (``serve``) calls :func:`setup_logging`, which replaces this one."""
    import sys

    root = logging.getLogger()
    if any(handler.get_name() == CONSOLE_HANDLER for handler in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(CONSOLE_HANDLER)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(ConsoleFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactionFilter())
    root.addHandler(handler)


def teardown_logging() -> None:
    """Remove and close the handlers :func:`setup_logging` installed (others stay)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() in (CONSOLE_HANDLER, FILE_HANDLER):
            root.removeHandler(handler)
            handler.close()


def _console_handler(stream: TextIO | None, filters: list[logging.Filter]) -> logging.Handler:
    from rich.console import Console
    from rich.logging import RichHandler

    handler = RichHandler(
        console=Console(file=stream) if stream is not None else Console(stderr=True),
        show_path=False,
        markup=False,
        rich_tracebacks=False,  # plain text traceback: it passes the redaction filter
        log_time_format="[%X]",
    )
    handler.set_name(CONSOLE_HANDLER)
    handler.setFormatter(ConsoleFormatter())
    for item in filters:
        handler.addFilter(item)
    return handler


def _file_handler(
    path: Path, max_bytes: int | None, backups: int | None, filters: list[logging.Filter]
) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(
        path,
        maxBytes=max_bytes or DEFAULT_MAX_BYTES,
        backupCount=DEFAULT_BACKUPS if backups is None else backups,
        encoding="utf-8",
        delay=True,
    )
    handler.set_name(FILE_HANDLER)
    handler.setFormatter(JsonLinesFormatter())
    for item in filters:
        handler.addFilter(item)
    return handler
