"""Remote A2A agents as Orchestra agents: ``a2a: http://…`` in an agent file instead of a model.

A step whose agent names ``a2a`` endpoints is answered by that remote agent through the
official ``a2a-sdk`` client: the step's resolved instruction is sent as a user message
(streaming when the peer's card offers it), every status update the peer sends becomes
a ``log`` event of the step (so the terminal and web UI show the remote work live), and
the task's artifacts become the step's outputs:

* one output variable: the artifact of that name, else the text of every text artifact,
  else the peer's final message;
* several: artifacts named after them, else a data part (JSON object) holding them,
  else the text parsed as a JSON object with exactly those keys.

A peer that fails, rejects or cannot be reached fails the attempt as retryable, with
its reason. ``a2a_token`` (``os.environ/NAME`` names a secret) is sent as
``Authorization: Bearer``. Several endpoints are chosen between by ``a2a_balance``
(:mod:`orchestra.tools.balancing`). Agent cards are fetched once per endpoint.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from a2a.client import A2ACardResolver, A2AClientError, ClientConfig, ClientFactory
from a2a.helpers.proto_helpers import (
    get_artifact_text,
    get_data_parts,
    get_message_text,
    new_text_message,
)
from a2a.types.a2a_pb2 import AgentCard, Artifact, Role, SendMessageRequest, TaskState
from a2a.utils.errors import A2AError

from orchestra.engine.errors import StepFailed
from orchestra.engine.events import EventType
from orchestra.engine.protocols import StepContext, StepResult
from orchestra.tools.balancing import Balancer
from orchestra.tools.protocol import ToolServices
from orchestra.tools.secrets import resolve_reference

_FAILED = {
    TaskState.TASK_STATE_FAILED: "failed",
    TaskState.TASK_STATE_REJECTED: "rejected the task",
    TaskState.TASK_STATE_CANCELED: "cancelled the task",
    TaskState.TASK_STATE_INPUT_REQUIRED: "asked for more input, which a workflow step cannot give",
    TaskState.TASK_STATE_AUTH_REQUIRED: "asked for authentication; set a2a_token",
}


class A2aPeers:
    """Answers steps of agents with ``a2a`` endpoints; one per step runner (shared state:
    the endpoint balancers and the fetched cards)."""

    def __init__(self, services: ToolServices | None = None, timeout_s: float = 600.0) -> None:
        self.services = services or ToolServices()
        self.timeout_s = timeout_s
        self._balancers: dict[tuple[str, ...], Balancer] = {}
        self._cards: dict[str, AgentCard] = {}

    def _balancer(self, ctx: StepContext) -> Balancer:
        agent = ctx.agent
        key = (agent.name, *agent.a2a)
        balancer = self._balancers.get(key)
        if balancer is None:
            balancer = Balancer(agent.a2a, agent.a2a_balance, agent.a2a_weights)
            self._balancers[key] = balancer
        return balancer

    def _headers(self, ctx: StepContext) -> dict[str, str]:
        token = ctx.agent.a2a_token
        if not token:
            return {}
        value = resolve_reference(
            token, self.services.secrets, needed_by=f"agent {ctx.agent.name!r} (a2a_token)"
        )
        return {"Authorization": f"Bearer {value}"}

    async def run_step(self, ctx: StepContext) -> StepResult:
        with self._balancer(ctx).lease() as url:
            try:
                return await self._ask(ctx, url)
            except (A2AClientError, A2AError, httpx.HTTPError) as error:
                raise StepFailed(
                    f"step {ctx.step_id!r}: the A2A agent at {url} could not be reached or "
                    f"answered with an error ({type(error).__name__}: {error}); check that it "
                    "runs and that a2a_token is right",
                    retryable=True,
                ) from error

    async def _ask(self, ctx: StepContext, url: str) -> StepResult:
        async with httpx.AsyncClient(
            headers=self._headers(ctx), timeout=self.timeout_s, transport=self.services.transport
        ) as http:
            card = self._cards.get(url)
            if card is None:
                card = await A2ACardResolver(http, url).get_agent_card()
                self._cards[url] = card
            client = ClientFactory(ClientConfig(streaming=True, httpx_client=http)).create(card)
            message = new_text_message(ctx.instruction, role=Role.ROLE_USER)
            artifacts: dict[str, Artifact] = {}
            state = TaskState.TASK_STATE_UNSPECIFIED
            final_text = ""
            async with client:
                async for response in client.send_message(SendMessageRequest(message=message)):
                    if response.HasField("message"):
                        final_text = get_message_text(response.message)
                        state = TaskState.TASK_STATE_COMPLETED
                    elif response.HasField("task"):
                        task = response.task
                        state = task.status.state
                        for artifact in task.artifacts:
                            artifacts[artifact.artifact_id] = artifact
                        if task.status.HasField("message"):
                            final_text = get_message_text(task.status.message)
                    elif response.HasField("status_update"):
                        status = response.status_update.status
                        state = status.state
                        if status.HasField("message"):
                            final_text = get_message_text(status.message)
                            await ctx.events.emit(
                                EventType.LOG,
                                {"message": f"A2A {url}: {final_text}", "a2a_state": state},
                            )
                    elif response.HasField("artifact_update"):
                        update = response.artifact_update
                        artifact = update.artifact
                        if update.append and artifact.artifact_id in artifacts:
                            artifacts[artifact.artifact_id].parts.extend(artifact.parts)
                        else:
                            artifacts[artifact.artifact_id] = artifact
        if state in _FAILED or state != TaskState.TASK_STATE_COMPLETED:
            reason = _FAILED.get(state, f"stopped in state {TaskState.Name(state)}")
            raise StepFailed(
                f"step {ctx.step_id!r}: the A2A agent at {url} {reason}"
                + (f": {final_text}" if final_text else ""),
                retryable=state == TaskState.TASK_STATE_FAILED,
            )
        return StepResult(_outputs(ctx, list(artifacts.values()), final_text))


def _outputs(ctx: StepContext, artifacts: list[Artifact], final_text: str) -> dict[str, str]:
    names = ctx.output_vars
    if not names:
        return {}
    named = {a.name: get_artifact_text(a) for a in artifacts if a.name}
    if all(name in named for name in names):
        return {name: named[name] for name in names}
    texts = [get_artifact_text(a) for a in artifacts if get_artifact_text(a)]
    if len(names) == 1:
        return {names[0]: "\n".join(texts) if texts else final_text}
    for artifact in artifacts:
        for data in get_data_parts(list(artifact.parts)):
            if isinstance(data, dict) and all(name in data for name in names):
                return {n: _text(data[n]) for n in names}
    from orchestra.agents.step_runner import parse_outputs  # it imports this module

    try:
        return parse_outputs("\n".join(texts) or final_text, names)
    except ValueError as invalid:
        raise StepFailed(
            f"step {ctx.step_id!r}: the A2A agent's answer does not provide the outputs "
            f"{', '.join(names)} ({invalid}); have it return artifacts named after them",
            retryable=True,
        ) from invalid


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
