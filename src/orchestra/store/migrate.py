"""Run the Alembic migrations shipped in this package, programmatically, on start.

Alembic costs about as much to import as SQLAlchemy itself, and most starts find the
schema already current. So :func:`upgrade` first reads the stored revision with one
query and compares it with the newest shipped one (read from the migration files'
``revision``/``down_revision`` lines); Alembic is imported only when they differ.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*['\"]?([^'\"\s]*)", re.M)


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Upgrade the schema on ``connection`` (in its transaction) to ``revision``.

    When asked for ``head`` and the schema is already there, only one query runs.
    On PostgreSQL an advisory lock serialises processes that start at once.
    """
    head = shipped_head()
    if revision == "head" and head is not None and stored_revision(connection) == head:
        return
    from alembic import command

    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(7242019)"))
    command.upgrade(_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    command.downgrade(_config(connection), revision)


def stored_revision(connection: Connection) -> str | None:
    """The revision recorded in ``alembic_version``, or None (no table: a new database).

    On PostgreSQL a failed statement aborts the transaction, so the probe runs in a
    savepoint there; SQLite's transaction survives a failed SELECT.
    """
    query = text("SELECT version_num FROM alembic_version")
    try:
        if connection.dialect.name == "postgresql":
            with connection.begin_nested():
                rows = connection.execute(query).scalars().all()
        else:
            rows = connection.execute(query).scalars().all()
    except DBAPIError:
        return None
    return str(rows[0]) if len(rows) == 1 else None


@functools.cache
def shipped_head() -> str | None:
    """The newest revision in ``migrations/versions``: the one no other file names as
    its ``down_revision``. None when the files do not form one line (let Alembic decide)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("[0-9]*.py"):
        found = dict(_REVISION_LINE.findall(path.read_text("utf-8")))
        if "revision" not in found:
            return None
        revisions.add(found["revision"])
        if found.get("down_revision") not in (None, "", "None"):
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped in this package (as Alembic reads it)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()
