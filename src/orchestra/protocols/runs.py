"""What the protocol adapters share: which definitions are exposed, a workflow's inputs as
JSON schema, one agent as a one-step workflow, and a run started, followed and finished.

MCP and A2A both map "call this thing with these arguments" to an Orchestra run, so both
go through :class:`RunBridge`: the run is stored and driven by the server's
:class:`~orchestra.runtime.runs.RunService` like any other (it shows in the web UI, the
API and ``orchestra runs``, and it is resumed after a crash), its events are followed
through the event bus, and its result is the run's final outputs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from orchestra.definitions import Project
from orchestra.definitions.specs import AgentSpec, InputSpec, Protocol, StepSpec, WorkflowSpec
from orchestra.engine.events import ExecutionEvent
from orchestra.engine.ids import RunId
from orchestra.engine.protocols import RunRecord
from orchestra.engine.states import StepStatus
from orchestra.runtime.container import Container

AGENT_INPUT = "Message"
"""The input of an agent served as a one-step workflow: the caller's message."""
AGENT_OUTPUT = "Reply"

EventHook = Callable[[ExecutionEvent], Awaitable[None]]


def exposed_workflows(project: Project, protocol: Protocol) -> dict[str, WorkflowSpec]:
    """The project's workflows whose front matter lists ``protocol`` under ``expose:``."""
    return {name: spec for name, spec in project.workflows.items() if protocol in spec.expose}


def exposed_agents(project: Project, protocol: Protocol) -> dict[str, AgentSpec]:
    """The project's agents whose front matter lists ``protocol`` under ``expose:``."""
    return {name: spec for name, spec in project.agents.items() if protocol in spec.expose}


def input_schema(spec: WorkflowSpec) -> dict[str, Any]:
    """The workflow's inputs as a JSON schema object (every input is text)."""
    properties: dict[str, Any] = {}
    for item in spec.inputs:
        prop: dict[str, Any] = {"type": "string"}
        if item.description:
            prop["description"] = item.description
        if item.default is not None:
            prop["default"] = item.default
        properties[item.name] = prop
    return {
        "type": "object",
        "properties": properties,
        "required": [item.name for item in spec.inputs if item.required],
        "additionalProperties": False,
    }


def agent_workflow(agent: AgentSpec) -> WorkflowSpec:
    """An agent served on its own: one step whose instruction is the caller's message.

    The message reaches the prompt as an input, never pasted into the instruction, so a
    ``${…}`` the caller wrote is text, not a variable."""
    return WorkflowSpec(
        name=f"agent-{agent.name}",
        description=agent.description,
        inputs=(InputSpec(name=AGENT_INPUT, required=True),),
        steps=(
            StepSpec(
                id="answer",
                agent_name=agent.name,
                instruction=f"${{{AGENT_INPUT}}}",
                input_vars=(AGENT_INPUT,),
                output_vars=(AGENT_OUTPUT,),
            ),
        ),
        agents={agent.name: agent},
        path=agent.path,
        source_hash=hashlib.sha256(agent.model_dump_json().encode()).hexdigest(),
    )


def final_outputs(record: RunRecord) -> dict[str, str]:
    """The run's results: outputs of succeeded steps that no other step reads."""
    spec = record.definition.spec
    read = {var for step in spec.steps for var in step.input_vars}
    final = [v for step in spec.steps for v in step.output_vars if v not in read]
    produced: dict[str, str] = {}
    for step in record.steps.values():
        if step.status is StepStatus.SUCCEEDED:
            produced.update(step.outputs)
    return {name: produced[name] for name in final if name in produced}


def run_summary(record: RunRecord) -> dict[str, Any]:
    """A run as JSON for a protocol client (the REST API's run, without its steps' detail)."""
    return {
        "id": record.run_id,
        "workflow": record.definition.spec.name,
        "status": record.status.value,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
        "inputs": dict(record.definition.inputs),
        "outputs": final_outputs(record),
        "error": dict(record.error) if record.error else None,
        "steps": {
            step_id: {"status": step.status.value, "attempt": step.attempt}
            for step_id, step in record.steps.items()
        },
    }


def error_text(record: RunRecord) -> str:
    """Why a run did not succeed, in one line for a protocol client."""
    if record.error:
        message = record.error.get("message") or json.dumps(dict(record.error))
        return f"run {record.run_id} {record.status.value}: {message}"
    return f"run {record.run_id} ended {record.status.value}"


class RunBridge:
    """Starts a run through the server's run service, follows its events, returns it."""

    def __init__(self, container: Callable[[], Container]) -> None:
        self._container = container

    @property
    def container(self) -> Container:
        return self._container()

    async def start(self, spec: WorkflowSpec, inputs: Mapping[str, str]) -> RunId:
        """Store and start a run (``WorkflowInputError`` when the inputs do not fit)."""
        return await self.container.runs.start_run(spec, inputs)

    async def follow(self, run_id: RunId, on_event: EventHook | None = None) -> RunRecord:
        """Hand each of the run's events to ``on_event`` until it finishes; the record."""
        container = self.container
        if on_event is not None:
            async for event in container.bus.subscribe(run_id):
                await on_event(event)
        return await container.runs.wait(run_id)

    async def run(
        self, spec: WorkflowSpec, inputs: Mapping[str, str], on_event: EventHook | None = None
    ) -> RunRecord:
        return await self.follow(await self.start(spec, inputs), on_event)
