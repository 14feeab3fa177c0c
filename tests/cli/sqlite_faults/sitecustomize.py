"""Storage faults for a CLI subprocess under test, loaded by Python at start-up when this
folder is on ``PYTHONPATH``.

SQLite itself reports the fault, as it would on a real full disk or read-only file:
``ORCHESTRA_TEST_SQLITE_FAULT=full:N`` caps every connection at N pages more than the
database has when it connects (``PRAGMA max_page_count``, so a growing write fails with
SQLITE_FULL), ``readonly`` makes every connection read-only (``PRAGMA query_only``,
SQLITE_READONLY; ``chmod`` would not do as root). Nothing of Orchestra is replaced.
"""

from __future__ import annotations

import os
import sqlite3
import sqlite3.dbapi2
from typing import Any

_FAULT = os.environ.get("ORCHESTRA_TEST_SQLITE_FAULT", "")
_connect = sqlite3.connect


def _faulty_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
    connection = _connect(*args, **kwargs)
    if _FAULT == "readonly":
        connection.execute("PRAGMA query_only=ON")
    elif _FAULT.startswith("full:"):
        (pages,) = connection.execute("PRAGMA page_count").fetchone()
        connection.execute(f"PRAGMA max_page_count={pages + int(_FAULT[5:])}").fetchone()
    return connection


if _FAULT:  # SQLAlchemy connects through sqlite3.dbapi2
    sqlite3.connect = sqlite3.dbapi2.connect = _faulty_connect  # type: ignore[assignment]
