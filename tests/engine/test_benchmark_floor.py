"""The floor figures of benchmarks/engine.py run against the current schema and statements.

No timing is asserted (figures are printed by the script); this keeps the script's
raw-SQL floor from drifting away from the store's real statements unnoticed.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "engine.py"


class _Folder:
    """A TemporaryDirectory stand-in that leaves the folder (pytest's tmp_path) behind."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> str:
        return str(self.path)

    def __exit__(self, *exc: object) -> None:
        return None


def keep_databases(bench: ModuleType, monkeypatch: pytest.MonkeyPatch, folder: Path) -> list[Path]:
    """Make the script write its databases into ``folder`` and keep them, so a test can
    check what the floor's plain SQL left behind; returns the paths it opened."""
    kept: list[Path] = []
    original = sqlite3.connect

    def connect(path: str, **kwargs: object) -> sqlite3.Connection:
        kept.append(Path(path))
        return original(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(bench.sqlite3, "connect", connect)
    monkeypatch.setattr(bench.tempfile, "TemporaryDirectory", lambda: _Folder(folder))
    return kept


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("engine_benchmarks", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_raw_sql_floor_runs_the_stores_statements_on_the_schema(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kept = keep_databases(bench, monkeypatch, tmp_path)
    per_step = await bench.raw_sql_chain(4)
    assert per_step > 0
    with sqlite3.connect(kept[0]) as db:
        steps = db.execute("SELECT step_id, status, attempt FROM steps ORDER BY step_id").fetchall()
        seqs = [row[0] for row in db.execute("SELECT seq FROM events ORDER BY seq")]
    assert steps == [
        ("s0", "succeeded", 1),
        ("s1", "succeeded", 1),
        ("s2", "succeeded", 1),
        ("s3", "succeeded", 1),
        ("s4", "running", 1),
    ]
    assert seqs == list(range(1, 13))  # three events a step, contiguous


async def test_raw_sql_run_starts_floor_leaves_runs_started(
    bench: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kept = keep_databases(bench, monkeypatch, tmp_path)
    assert await bench.raw_sql_run_starts(3) > 0
    with sqlite3.connect(kept[0]) as db:
        runs = db.execute("SELECT status, owner FROM runs").fetchall()
        first = db.execute("SELECT status FROM steps WHERE step_id = 's0'").fetchall()
        types = db.execute("SELECT type FROM events ORDER BY run_id, seq").fetchall()
    assert runs == [("running", "me")] * 3
    assert first == [("running",)] * 3
    assert types == [("run_started",), ("step_started",)] * 3
