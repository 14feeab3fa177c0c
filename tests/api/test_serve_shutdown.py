"""SIGTERM to a real ``orchestra serve`` mid-run detaches the run; a restart finishes it.

The slow model is a real OpenAI-compatible HTTP server on 127.0.0.1 answering
after a delay, so the run is mid-step when the server is asked to stop.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest

from orchestra.engine.ids import RunId
from orchestra.engine.states import RunStatus, StepStatus
from orchestra.store.database import connect
from orchestra.store.run_store import SqlRunStore
from tests.api.process import Server, free_port
from tests.api.project import settings_for
from tests.api.served import (
    admin_key,
    assert_only_s2_ran_again,
    slow_project,
    start_busy_run_mid_step,
    wait_until_succeeded,
)
from tests.llm.fake_openai import FakeOpenAI

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path, slow_model: FakeOpenAI) -> Path:
    # no drain: runs in flight are detached at once
    return slow_project(tmp_path / "project", slow_model, "[server]\nshutdown_grace_s = 0\n\n")


async def stored(project: Path, run_id: str) -> tuple[Any, list[Any]]:
    database = await connect(settings_for(project).database.url)
    try:
        store = SqlRunStore(database)
        return await store.get_run(RunId(run_id)), await store.list_attempts(RunId(run_id))
    finally:
        await database.aclose()


def test_sigterm_detaches_the_run_and_a_restart_finishes_it(project: Path) -> None:
    port = free_port()
    first = Server(project, port)
    try:
        first.wait_ready()
        key = admin_key(first.output())
        run_id = start_busy_run_mid_step(first, key)
    finally:
        first.stop(signal.SIGTERM)
    assert first.process.returncode == 0, first.output()

    # Between the two processes: not cancelled, nobody owns anything, the step
    # interrupted mid-call waits to be taken over (unlike after kill -9, no lease
    # is left to expire or to be found dead).
    record, attempts = asyncio.run(stored(project, run_id))
    assert record.status is RunStatus.RUNNING
    assert record.owner is None
    s2 = record.steps["s2"]
    assert (s2.status, s2.lease_owner) == (StepStatus.RUNNING, None)
    assert {(a.step_id, a.attempt): a.status for a in attempts}[("s2", 1)] == "interrupted"
    assert record.steps["s3"].status is StepStatus.PENDING

    second = Server(project, port)
    try:
        second.wait_ready()
        run, events = wait_until_succeeded(second, run_id, key)
    finally:
        second.stop()
    assert_only_s2_ran_again(run, events)
    detached = [e for e in events if e["type"] == "log" and e["content"].get("detached")]
    assert len(detached) == 1 and detached[0]["content"]["interrupted_steps"] == ["s2"]
    assert not [e for e in events if e["type"] == "step_failed"]
    rerun = [e for e in events if e["type"] == "step_started" and e["step_id"] == "s2"][-1]
    assert rerun["content"]["interrupted_attempt"] == 1
