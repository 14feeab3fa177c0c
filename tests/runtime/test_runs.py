"""RunService: runs it starts finish; unfinished runs of a dead owner resume; phased shutdown."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from orchestra.engine.control import CancelOutcome, RunControl
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.states import RunStatus, StepStatus
from orchestra.runtime.container import Container, ContainerOptions
from orchestra.runtime.errors import Conflict, ShuttingDown
from orchestra.store.database import connect
from orchestra.store.run_store import SqlRunStore
from tests.api.project import scripts, settings_for, wait_for, write_project
from tests.engine.helpers import step, workflow


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "project")


async def test_a_started_run_is_driven_to_the_end(project: Path) -> None:
    container = await Container.open(settings_for(project), ContainerOptions(scripts=scripts()))
    try:
        run_id = await container.runs.start_run("pair", {"Topic": "x"})
        assert (await wait_for(container.store, run_id)).status is RunStatus.SUCCEEDED
        with pytest.raises(Conflict):
            await container.runs.cancel(run_id)
        with pytest.raises(Conflict):
            await container.runs.resume(run_id)
    finally:
        await container.close()


async def test_runs_left_by_a_dead_owner_resume_at_start(project: Path) -> None:
    settings = settings_for(project)
    # A run left behind: created and claimed by a process (on this host) that is gone.
    database = await connect(settings.database.url)
    store = SqlRunStore(database)
    async with store:
        first = Container(settings)  # only to read the project's workflow
        spec = first.project.workflow("pair")
        run_id = await store.create_run(spec, {"Topic": "t"})
        dead = await asyncio.create_subprocess_exec("true")
        await dead.wait()
        assert await store.claim_run(run_id, f"{socket.gethostname()}:{dead.pid}:x", 30.0)
    await database.aclose()

    container = await Container.open(settings, ContainerOptions(scripts=scripts()))
    try:
        record = await wait_for(container.store, run_id, timeout_s=60)
    finally:
        await container.close()
    assert record.status is RunStatus.SUCCEEDED


async def test_shutdown_stops_accepting_and_detaches_what_outlives_the_grace(project: Path) -> None:
    container = await Container.open(
        settings_for(project), ContainerOptions(scripts=scripts(delay_s=5), grace_s=0.2)
    )
    run_id = await container.runs.start_run("busy", {})
    await wait_for(container.store, run_id, RunStatus.RUNNING)
    runs = container.runs
    store = container.store
    database = container.database
    await runs.close()
    assert not runs.accepting
    with pytest.raises(ShuttingDown):
        await runs.start_run("pair", {"Topic": "x"})
    record = await store.get_run(RunId(run_id))
    # Detached, not cancelled: the run and its interrupted step stay resumable.
    assert record.status is RunStatus.RUNNING
    assert record.steps["s0"].status is StepStatus.RUNNING
    assert record.steps["s0"].lease_owner is None
    events = await store.read_events(RunId(run_id))
    assert events[-1].content["detached"] is True
    assert events[-1].content["interrupted_steps"] == ["s0"]
    assert record.owner is None  # the lease was released: a restart can take it at once
    await container.close()
    assert database is container.database


@pytest.mark.parametrize("stream", [True, False])
async def test_runs_stream_tokens_unless_settings_say_not(project: Path, stream: bool) -> None:
    """The live views show an answer as it is written only if the step runner streams."""
    overrides: dict[str, object] = {} if stream else {"models.stream": False}
    container = await Container.open(
        settings_for(project, **overrides), ContainerOptions(scripts=scripts())
    )
    try:
        run_id = await container.runs.start_run("pair", {"Topic": "tidal power"})
        record = await wait_for(container.store, run_id)
        assert record.status is RunStatus.SUCCEEDED
        events = await container.store.read_events(RunId(run_id))
        streamed = "".join(
            str(e.content["text"])
            for e in events
            if e.type is EventType.TOKEN and e.step_id == "first"
        )
        if stream:
            draft = record.steps[StepId("first")].outputs["Draft"]
            assert "tidal power" in draft
            assert streamed.strip() == draft.strip()
        else:
            assert streamed == ""
    finally:
        await container.close()


async def test_a_spec_with_no_file_runs_and_wait_returns_once_it_finished(project: Path) -> None:
    """What the planner, A2A and MCP servers do: start a spec built in memory, then wait."""
    spec = workflow(step("plan"), step("act", deps=("plan",), reads=("plan_out",)))
    assert not (project / spec.path).exists()
    container = await Container.open(settings_for(project), ContainerOptions(scripts=scripts()))
    try:
        run_id = await container.runs.start_run(spec, {})
        record = await container.runs.wait(run_id)
        assert record.status is RunStatus.SUCCEEDED
        assert "plan" in record.steps[StepId("act")].outputs["act_out"]
        assert (await container.runs.wait(run_id)).status is RunStatus.SUCCEEDED  # again: at once
    finally:
        await container.close()


async def test_wait_follows_a_run_another_process_settles(project: Path) -> None:
    """A run this process does not drive: wait reads the store until it has finished."""
    container = await Container.open(settings_for(project), ContainerOptions(scripts=scripts()))
    try:
        run_id = await container.engine.create_run(workflow(step("a")), {})  # nobody drives it
        waiter = asyncio.create_task(container.runs.wait(run_id))
        await asyncio.sleep(0)
        assert not waiter.done()
        other = await connect(settings_for(project).database.url)
        try:
            async with SqlRunStore(other) as store:
                assert await RunControl(store).cancel(run_id) is CancelOutcome.CANCELLED
        finally:
            await other.aclose()
        async with asyncio.timeout(60):  # only a hang guard
            assert (await waiter).status is RunStatus.CANCELLED
    finally:
        await container.close()


async def test_wait_returns_a_run_its_drive_detached(project: Path) -> None:
    container = await Container.open(
        settings_for(project), ContainerOptions(scripts=scripts(delay_s=30))
    )
    try:
        run_id = await container.runs.start_run("busy", {})
        await wait_for(container.store, run_id, RunStatus.RUNNING)
        waiter = asyncio.create_task(container.runs.wait(run_id))
        container.engine.detach_all("a test detaches it")
        async with asyncio.timeout(60):  # only a hang guard
            record = await waiter
        assert record.status is RunStatus.RUNNING  # unfinished, resumable
    finally:
        await container.close()
