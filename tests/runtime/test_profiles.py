"""The process profiles: built from registries, so a plugin's executor or model provider is
used by name, and an unknown name fails before anything opens."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from orchestra.definitions import Project
from orchestra.engine.ids import StepId
from orchestra.engine.states import RunStatus
from orchestra.plugins import UnknownPlugin
from orchestra.runtime.container import Container, ContainerOptions
from orchestra.runtime.worker import Worker
from tests.api.project import scripts, settings_for, wait_for, write_project
from tests.plugin_dist import install_plugin

COUNTING_EXECUTOR = """
from orchestra.engine.executor import LocalExecutor

CALLS = []


class CountingExecutor(LocalExecutor):
    async def execute(self, run_id, step_id):
        CALLS.append(step_id)
        return await super().execute(run_id, step_id)
"""

SHOUT_PROVIDER = """
from litellm.llms.custom_llm import CustomLLM

from orchestra.llm import handler_replies


def _loud(kwargs):
    return "SHOUTED: " + str(kwargs["messages"][-1]["content"]).upper()


class _Shout(CustomLLM):
    async def acompletion(self, *args, **kwargs):
        return handler_replies.model_response(kwargs["model"], _loud(kwargs), [], "stop", 1, 1)

    async def astreaming(self, *args, **kwargs):
        yield handler_replies.chunk(_loud(kwargs))
        yield handler_replies.final_chunk("stop", [], 1, 1)


class ShoutProvider:
    def handler(self, context_for):
        return _Shout()

    def check_model(self, model, context):
        pass


PROVIDER = ShoutProvider()
"""

LOUD_AGENT = """---
name: loud
model: shout-test/any
---
You shout.
"""

LOUD_WORKFLOW = """---
name: loud
---
## Step: only
* **Agent:** [Loud](../agents/loud.agent.md)
* **Output:** ${Said}

say hello
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "project")


async def test_an_executor_plugin_is_found_by_its_entry_point_name(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin(
        tmp_path / "site",
        monkeypatch,
        dist="orchestra-counting",
        module="counting_executor_plugin",
        source=COUNTING_EXECUTOR,
        entry_points="[orchestra.executors]\ncounting = counting_executor_plugin:CountingExecutor\n",
    )
    settings = settings_for(project, **{"engine.executor": "counting"})
    container = await Container.open(settings, ContainerOptions(scripts=scripts(), resume=False))
    try:
        run_id = await container.runs.start_run("pair", {"Topic": "x"})
        record = await wait_for(container.store, run_id, timeout_s=120)
    finally:
        await container.close()
    assert record.status is RunStatus.SUCCEEDED
    plugin = sys.modules["counting_executor_plugin"]
    assert sorted(plugin.CALLS) == ["first", "second"]


async def test_an_unknown_executor_fails_before_anything_opens(project: Path) -> None:
    settings = settings_for(project, **{"engine.executor": "celry"})
    with pytest.raises(UnknownPlugin) as caught:
        await Container.open(settings, ContainerOptions(resume=False))
    assert "no executor named 'celry'" in str(caught.value)
    assert "Registered: celery, local" in str(caught.value)
    assert not (project / ".orchestra" / "orchestra.db").exists()


async def test_the_worker_profile_runs_a_step_on_a_plugin_model_provider(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_plugin(
        tmp_path / "site",
        monkeypatch,
        dist="orchestra-shout",
        module="shout_provider_plugin",
        source=SHOUT_PROVIDER,
        entry_points="[orchestra.models]\nshout-test = shout_provider_plugin:PROVIDER\n",
    )
    (project / "agents" / "loud.agent.md").write_text(LOUD_AGENT)
    (project / "workflows" / "loud.workflow.md").write_text(LOUD_WORKFLOW)
    spec = Project.load(project).workflow("loud")
    async with await Worker.open(settings_for(project)) as worker:
        run_id, status = await worker.engine.run(spec, {})
        outputs = await worker.store.read_outputs(run_id, [StepId("only")])
    assert status is RunStatus.SUCCEEDED
    assert outputs[StepId("only")]["Said"].startswith("SHOUTED: ")
