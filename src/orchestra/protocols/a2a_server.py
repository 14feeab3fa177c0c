"""Orchestra agents and workflows as A2A agents, served with the official ``a2a-sdk``.

Every agent and workflow whose front matter lists ``a2a`` under ``expose:`` is one A2A
agent under ``/a2a/agents/<name>`` or ``/a2a/workflows/<name>`` on ``orchestra serve``:

* its **agent card** at ``<base>/.well-known/agent-card.json`` (the SDK's card route),
  naming the JSON-RPC interface at ``<base>/`` and bearer authentication with an
  Orchestra API key;
* **message send and streaming** through the SDK's JSON-RPC routes and
  ``DefaultRequestHandler``; the :class:`RunExecutor` turns each message into an
  Orchestra run (stored, driven and resumed like any other) and reports it as an A2A
  task: ``working`` with a status message per step, then an artifact per final output
  and ``completed`` (or ``failed`` with the run's error). The task's metadata carries
  ``orchestra_run_id``; cancelling the task cancels the run.

What a message becomes: for an agent, its text is the step's instruction. For a
workflow, a data part (a JSON object) gives the inputs by name; a text message fills
the workflow's only input (or its only required one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from a2a.helpers.proto_helpers import (
    get_data_parts,
    get_message_text,
    new_data_part,
    new_task,
    new_text_message,
    new_text_part,
)
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    HTTPAuthSecurityScheme,
    Role,
    SecurityRequirement,
    SecurityScheme,
    StringList,
    TaskState,
)
from a2a.utils.constants import PROTOCOL_VERSION_CURRENT
from starlette.routing import BaseRoute

from orchestra.definitions.specs import WorkflowSpec
from orchestra.engine.errors import WorkflowInputError
from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.ids import RunId
from orchestra.engine.states import RunStatus
from orchestra.protocols.runs import (
    AGENT_INPUT,
    RunBridge,
    agent_workflow,
    error_text,
    exposed_agents,
    exposed_workflows,
    final_outputs,
)

SECURITY_SCHEME = "orchestra_api_key"
RUN_ID_KEY = "orchestra_run_id"


class A2aTarget:
    """One exposed definition: its kind (``agents`` or ``workflows``), name and workflow."""

    def __init__(self, kind: str, name: str, spec: WorkflowSpec, description: str) -> None:
        self.kind = kind
        self.name = name
        self.spec = spec
        self.description = description

    @property
    def fingerprint(self) -> str:
        return self.spec.source_hash or self.spec.model_dump_json()


def a2a_targets(bridge: RunBridge) -> dict[tuple[str, str], A2aTarget]:
    """Everything the project exposes over A2A, by (kind, name)."""
    project = bridge.container.project
    targets: dict[tuple[str, str], A2aTarget] = {}
    for name, agent in exposed_agents(project, "a2a").items():
        targets["agents", name] = A2aTarget(
            "agents", name, agent_workflow(agent), agent.description or f"Orchestra agent {name}"
        )
    for name, spec in exposed_workflows(project, "a2a").items():
        targets["workflows", name] = A2aTarget(
            "workflows", name, spec, spec.description or f"Orchestra workflow {name}"
        )
    return targets


def agent_card(target: A2aTarget, base_url: str) -> AgentCard:
    """The card of ``target`` served at ``base_url`` (which ends with ``/``)."""
    inputs = ", ".join(i.name for i in target.spec.inputs) or "none"
    return AgentCard(
        name=target.name,
        description=target.description,
        version="1",
        supported_interfaces=[
            AgentInterface(
                url=base_url, protocol_binding="JSONRPC", protocol_version=PROTOCOL_VERSION_CURRENT
            )
        ],
        capabilities=AgentCapabilities(streaming=True),
        security_schemes={
            SECURITY_SCHEME: SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(
                    scheme="bearer",
                    description="An Orchestra API key (`orchestra keys create --role operator`)",
                )
            )
        },
        security_requirements=[SecurityRequirement(schemes={SECURITY_SCHEME: StringList()})],
        default_input_modes=["text/plain", "application/json"],
        default_output_modes=["text/plain"],
        skills=[
            AgentSkill(
                id=f"{target.kind}.{target.name}",
                name=target.name,
                description=f"{target.description} (inputs: {inputs})",
                tags=[target.kind.removesuffix("s")],
            )
        ],
    )


def message_inputs(target: A2aTarget, text: str, data: list[Any]) -> dict[str, str]:
    """The run's inputs from a message (see the module docstring); ``WorkflowInputError``
    saying what to send when they cannot be told."""
    objects = [item for item in data if isinstance(item, Mapping)]
    if objects:
        merged: dict[str, Any] = {}
        for item in objects:
            merged.update(item)
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in merged.items()}
    if target.kind == "agents":
        return {AGENT_INPUT: text}
    inputs = target.spec.inputs
    required = [i for i in inputs if i.required]
    if len(inputs) == 1 or len(required) == 1:
        return {(inputs[0] if len(inputs) == 1 else required[0]).name: text}
    if not inputs:
        return {}
    raise WorkflowInputError(
        f"workflow {target.name!r} takes several inputs ({', '.join(i.name for i in inputs)}); "
        "send them as a data part holding a JSON object, e.g. "
        + json.dumps({i.name: "..." for i in inputs})
    )


class RunExecutor(AgentExecutor):
    """The SDK's agent executor for one exposed target: a message becomes an Orchestra run."""

    def __init__(self, bridge: RunBridge, target: A2aTarget) -> None:
        self.bridge = bridge
        self.target = target
        self._runs: dict[str, RunId] = {}

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id = context.task_id or ""
        context_id = context.context_id or ""
        if context.current_task is None:
            task = new_task(task_id, context_id, TaskState.TASK_STATE_SUBMITTED)
            if context.message is not None:
                task.history.append(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task_id, context_id)
        message = context.message
        text = get_message_text(message) if message is not None else ""
        data = get_data_parts(list(message.parts)) if message is not None else []
        try:
            inputs = message_inputs(self.target, text, data)
            run_id = await self.bridge.start(self.target.spec, inputs)
        except WorkflowInputError as error:
            await updater.reject(self._message(str(error), task_id, context_id))
            return
        self._runs[task_id] = run_id
        await updater.update_status(
            TaskState.TASK_STATE_WORKING,
            self._message(f"run {run_id} started", task_id, context_id),
            metadata={RUN_ID_KEY: run_id},
        )

        async def step_update(event: ExecutionEvent) -> None:
            if event.type in (EventType.STEP_COMPLETE, EventType.STEP_FAILED):
                verb = "done" if event.type is EventType.STEP_COMPLETE else "failed"
                await updater.update_status(
                    TaskState.TASK_STATE_WORKING,
                    self._message(f"step {event.step_id} {verb}", task_id, context_id),
                    metadata={RUN_ID_KEY: run_id, "step": event.step_id},
                )

        try:
            record = await self.bridge.follow(run_id, step_update)
        finally:
            self._runs.pop(task_id, None)
        if record.status is RunStatus.CANCELLED:
            await updater.cancel(self._message(error_text(record), task_id, context_id))
            return
        if record.status is not RunStatus.SUCCEEDED:
            await updater.failed(self._message(error_text(record), task_id, context_id))
            return
        outputs = final_outputs(record)
        for name, value in outputs.items():
            await updater.add_artifact(
                [new_text_part(value)], name=name, metadata={RUN_ID_KEY: run_id}
            )
        await updater.add_artifact(
            [new_data_part({"run_id": run_id, "outputs": outputs})], name="result"
        )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        task_id = context.task_id or ""
        run_id = self._runs.get(task_id)
        if run_id is not None:
            await self.bridge.container.runs.cancel(run_id)
        updater = TaskUpdater(event_queue, task_id, context.context_id or "")
        await updater.cancel()

    @staticmethod
    def _message(text: str, task_id: str, context_id: str) -> Any:
        return new_text_message(text, context_id=context_id, task_id=task_id, role=Role.ROLE_AGENT)


def a2a_routes(bridge: RunBridge, target: A2aTarget, base_url: str) -> list[BaseRoute]:
    """The SDK's card and JSON-RPC routes for ``target`` (paths relative to its base)."""
    card = agent_card(target, base_url)
    handler = DefaultRequestHandler(
        agent_executor=RunExecutor(bridge, target),
        task_store=InMemoryTaskStore(),
        agent_card=card,
    )
    return [*create_agent_card_routes(card), *create_jsonrpc_routes(handler, rpc_url="/")]
