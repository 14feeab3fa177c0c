"""A full disk mid-run and a read-only database end ``orchestra run`` with a clear
message and exit code 1, no traceback, and nothing stored lost (issue 13.8).

Real ``orchestra`` subprocesses on a real SQLite file; SQLite itself reports the
fault (``sqlite_faults/sitecustomize.py`` sets its page limit or read-only pragma on
the subprocess's connections), as it would on a full disk or a read-only file.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.cli.conftest import RunCli
from tests.cli.project import make_project

pytestmark = pytest.mark.slow

FAULTS = Path(__file__).with_name("sqlite_faults")
TOPIC = " ".join(f"word{i}" for i in range(800))  # echoed into outputs and events: pages


def _events(db: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT run_id, seq, type FROM events ORDER BY run_id, seq"))


def _runs(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT id, status FROM runs"))


@pytest.fixture
def project_with_a_run(tmp_path: Path, orchestra: RunCli) -> Path:
    root = make_project(tmp_path / "p")
    done = orchestra("run", "note", "-i", "Topic=owls", "--json", cwd=root, timeout=300)
    assert done.returncode == 0, done.stderr
    return root


def _faulty(fault: str) -> dict[str, str]:
    return {"PYTHONPATH": str(FAULTS), "ORCHESTRA_TEST_SQLITE_FAULT": fault}


def _assert_clear_failure(result: object, *phrases: str) -> None:
    stdout, stderr = result.stdout, result.stderr  # type: ignore[attr-defined]
    assert result.returncode == 1, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr and "Traceback" not in stdout, stderr
    for phrase in phrases:
        assert phrase in stderr, stderr


def test_a_full_disk_mid_run_is_a_clear_error_and_loses_nothing(
    project_with_a_run: Path, orchestra: RunCli
) -> None:
    db = project_with_a_run / ".orchestra" / "orchestra.db"
    before, runs_before = _events(db), _runs(db)

    result = orchestra(
        "run", "note", "-i", f"Topic={TOPIC}", "--json",
        cwd=project_with_a_run, env=_faulty("full:6"), timeout=300,
    )  # fmt: skip

    _assert_clear_failure(result, "the database is full", str(db), "Free disk space")
    after = _events(db)
    assert [e for e in after if e[0] in runs_before] == before  # the earlier run's, all there
    assert {k: _runs(db)[k] for k in runs_before} == runs_before
    (new_run,) = set(_runs(db)) - set(runs_before)
    stored = [(seq, kind) for run_id, seq, kind in after if run_id == new_run]
    assert stored, "the fault came mid-run: the run and its first events were stored"
    assert [seq for seq, _ in stored] == list(range(1, len(stored) + 1))  # no gap
    printed = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    # every event the CLI showed had been committed, and is still there
    assert {(e["seq"], e["type"]) for e in printed} <= set(stored)


def test_a_read_only_database_is_a_clear_error_and_loses_nothing(
    project_with_a_run: Path, orchestra: RunCli
) -> None:
    db = project_with_a_run / ".orchestra" / "orchestra.db"
    before, runs_before = _events(db), _runs(db)

    result = orchestra(
        "run", "note", "-i", "Topic=owls", "--json",
        cwd=project_with_a_run, env=_faulty("readonly"), timeout=300,
    )  # fmt: skip

    _assert_clear_failure(result, "the database is read-only", str(db), "writable")
    assert _events(db) == before and _runs(db) == runs_before
