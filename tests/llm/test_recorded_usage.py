"""Per-call usage is stored: a real workflow run through the real gateway and runtime.

Two real OpenAI-compatible servers on 127.0.0.1 (one failing, one answering)
and the scripted model serve the agents; the records and roll-ups are read
back from the database (``model_calls``), SQLite here and PostgreSQL below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestra.config import load_settings
from orchestra.engine.states import RunStatus
from orchestra.runtime.container import Container, ContainerOptions
from orchestra.store.usage_store import SqlUsageStore
from tests.api.project import wait_for
from tests.llm.fake_openai import FakeOpenAI

WORKFLOW = """---
name: review
inputs:
  Topic: {required: true}
---
## Step: draft
* **Agent:** [Writer](../agents/writer.agent.md)
* **Input:** ${Topic}
* **Output:** ${Draft}

Draft a note about ${Topic}.

## Step: check
* **Agent:** [Checker](../agents/checker.agent.md)
* **Input:** ${Draft}
* **Output:** ${Verdict}

Check ${Draft}.
"""

AGENT = "---\nname: {name}\nmodel: {model}\n---\nYou {name}.\n"


def write_project(root: Path, primary: FakeOpenAI, backup: FakeOpenAI) -> Path:
    (root / "agents").mkdir(parents=True)
    (root / "workflows").mkdir()
    (root / "orchestra.toml").write_text(
        f"""[models]
default = "scripted/echo"
cache = "off"

[[models.model_list]]
model_name = "primary"
litellm_params = {{ model = "openai/fake-model", api_base = "{primary.api_base}", api_key = "k" }}

[[models.model_list]]
model_name = "backup"
litellm_params = {{ model = "openai/fake-model", api_base = "{backup.api_base}", api_key = "k" }}

[models.router_settings]
fallbacks = [{{ primary = ["backup"] }}]
"""
    )
    (root / "agents" / "writer.agent.md").write_text(AGENT.format(name="writer", model="primary"))
    (root / "agents" / "checker.agent.md").write_text(
        AGENT.format(name="checker", model="scripted/echo")
    )
    (root / "workflows" / "review.workflow.md").write_text(WORKFLOW)
    return root


async def run_review(project: Path, **overrides: object) -> tuple[str, SqlUsageStore, Container]:
    container = await Container.open(
        load_settings(project, overrides=overrides, env={}), ContainerOptions(refresh_s=None)
    )
    run_id = await container.runs.start_run("review", {"Topic": "owls"})
    record = await wait_for(container.store, run_id)
    assert record.status is RunStatus.SUCCEEDED, [s.error for s in record.steps.values()]
    return run_id, container.usage, container


async def check_fallback_recorded(
    project: Path, primary: FakeOpenAI, backup: FakeOpenAI, **overrides: object
) -> None:
    primary.default = "server_error"
    run_id, usage, container = await run_review(project, **overrides)
    try:
        calls = await usage.calls(run_id)
        report = await usage.report(run_id)
    finally:
        await container.close()

    assert [(c.step_id, c.agent, c.requested_model) for c in calls] == [
        ("draft", "writer", "primary"),
        ("check", "checker", "scripted/echo"),
    ]
    draft, check = calls
    assert primary.hits == 2 and backup.hits == 1  # a try, one retry, then the fallback
    assert draft.usage.fallbacks == 1
    assert draft.usage.retries == 1
    assert draft.usage.deployment.startswith("backup[")
    assert backup.api_base in draft.usage.deployment
    assert (draft.usage.prompt_tokens, draft.usage.completion_tokens) == (11, 7)
    assert draft.usage.cost_usd == 0.0  # a self-hosted model: not in the cost map
    assert draft.attempt == 1
    assert draft.error is None
    assert draft.usage.latency_s > 0
    # Both failed tries are stored: on which deployment, why, and how long each took.
    assert [(a.deployment, a.error) for a in draft.usage.failed_attempts] == [
        (f"primary[openai/fake-model@{primary.api_base}]", "ProviderUnavailable")
    ] * 2
    assert all(a.latency_s > 0 for a in draft.usage.failed_attempts)
    assert check.usage.deployment.startswith("scripted/echo")
    assert check.usage.fallbacks == 0

    assert list(report.by_step) == ["draft", "check"]
    assert report.by_step["draft"].fallbacks == 1
    assert report.by_step["draft"].retries == 1
    assert report.by_step["draft"].prompt_tokens == 11
    assert list(report.by_agent) == ["writer", "checker"]
    assert report.by_agent["checker"].calls == 1
    assert set(report.by_model) == {draft.usage.model, check.usage.model}
    assert report.by_deployment[draft.usage.deployment].calls == 1
    assert report.total.calls == 2
    assert report.total.fallbacks == 1
    assert report.total.prompt_tokens == draft.usage.prompt_tokens + check.usage.prompt_tokens
    assert report.total.completion_tokens == (
        draft.usage.completion_tokens + check.usage.completion_tokens
    )
    assert [c.model_dump() for c in report.calls] == [c.model_dump() for c in calls]


async def test_calls_of_a_run_are_stored_with_fallback_and_deployment(
    tmp_path: Path, fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    project = write_project(tmp_path / "p", fake_server, second_server)
    await check_fallback_recorded(project, fake_server, second_server)


@pytest.mark.postgres
async def test_calls_are_stored_on_postgres(
    tmp_path: Path, fake_server: FakeOpenAI, second_server: FakeOpenAI, postgres_url: str
) -> None:
    project = write_project(tmp_path / "p", fake_server, second_server)
    await check_fallback_recorded(
        project, fake_server, second_server, database={"url": postgres_url}
    )


async def test_a_failed_call_is_recorded_with_its_error(
    tmp_path: Path, fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    fake_server.default = second_server.default = "context_window"
    project = write_project(tmp_path / "p", fake_server, second_server)
    container = await Container.open(
        load_settings(project, env={}), ContainerOptions(refresh_s=None)
    )
    try:
        run_id = await container.runs.start_run("review", {"Topic": "owls"})
        record = await wait_for(container.store, run_id)
        calls = await container.usage.calls(run_id)
        report = await container.usage.report(run_id)
    finally:
        await container.close()
    assert record.status is RunStatus.FAILED
    assert calls, "the failed call was not recorded"
    assert {c.error for c in calls} == {"ContextWindowExceeded"}
    assert {c.step_id for c in calls} == {"draft"}
    assert report.total.failed_calls == len(calls)
    assert report.by_agent["writer"].failed_calls == len(calls)


async def test_calls_of_a_completed_step_survive_a_crash_right_after_it(
    tmp_path: Path, fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    """The process dies the instant the step's completion is committed: its calls are there."""
    import asyncio
    import sys

    from orchestra.engine.ids import RunId
    from orchestra.engine.states import StepStatus
    from orchestra.store.database import connect
    from orchestra.store.run_store import SqlRunStore

    project = write_project(tmp_path / "p", fake_server, second_server)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.llm.crash_after_step",
        str(project),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    out, err = await asyncio.wait_for(child.communicate(), timeout=120)
    assert child.returncode == 9, err.decode()
    run_id = out.decode().split()[0]
    database = await connect(load_settings(project, env={}).database.url)
    try:
        async with SqlRunStore(database) as store:
            record = await store.get_run(RunId(run_id))
        calls = await SqlUsageStore(database).calls(run_id)
    finally:
        await database.aclose()
    assert record.steps["draft"].status is StepStatus.SUCCEEDED
    assert not record.status.terminal  # it really died mid-run
    assert [(c.step_id, c.agent) for c in calls] == [("draft", "writer")]
    assert calls[0].usage.deployment.startswith("primary[")


async def test_failed_tries_are_shown_by_the_api_and_runs_show(
    tmp_path: Path, fake_server: FakeOpenAI, second_server: FakeOpenAI
) -> None:
    """Which deployment failed, with what and how long, reaches GET …/usage and `runs show`."""
    import json
    import os
    import subprocess
    import sys

    import httpx

    from orchestra.api.app import create_app

    project = write_project(tmp_path / "p", fake_server, second_server)
    fake_server.default = "server_error"
    run_id, _usage, container = await run_review(project)
    try:
        _, key = await container.keys.create("viewer key", "viewer")
        app = create_app(container.settings, container=container)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            answer = await http.get(
                f"/api/v1/runs/{run_id}/usage", headers={"Authorization": f"Bearer {key}"}
            )
    finally:
        await container.close()
    assert answer.status_code == 200, answer.text
    draft = answer.json()["calls"][0]
    dead = f"primary[openai/fake-model@{fake_server.api_base}]"
    assert [(a["deployment"], a["error"]) for a in draft["failed_attempts"]] == [
        (dead, "ProviderUnavailable")
    ] * 2
    assert all(a["latency_s"] > 0 and "HTTP 500" in a["message"] for a in draft["failed_attempts"])

    orchestra = str(Path(sys.executable).parent / "orchestra")
    cli = [orchestra, "runs", "show", run_id, "--project", str(project)]
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    shown = subprocess.run(cli, capture_output=True, text=True, env=env, check=False)  # noqa: ASYNC221
    assert shown.returncode == 0, shown.stderr
    tries = shown.stdout.split("failed model call tries", 1)[1].splitlines()
    assert sum(dead in line and "ProviderUnavailable" in line for line in tries) == 2
    data = json.loads(
        subprocess.run([*cli, "--json"], capture_output=True, text=True, env=env, check=True).stdout  # noqa: ASYNC221
    )
    listed = data["model_calls"]["failed_attempts"]
    assert [(a["step_id"], a["deployment"], a["error"]) for a in listed] == [
        ("draft", dead, "ProviderUnavailable")
    ] * 2
