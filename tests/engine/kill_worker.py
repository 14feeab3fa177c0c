"""A fork server for the kill-and-resume test.

Importing LiteLLM takes seconds, so this process imports everything once and
then forks a fresh child per command: each child is a real, separate process
that runs a workflow through the real engine, SQL store, step runner and model
gateway (scripted model) and can be killed with SIGKILL at any moment.

Protocol (JSON lines on stdin/stdout):
  {"cmd": "spawn", "url": ..., "log": ..., "out": ..., "run_id": null|"...", "seed": 1}
      -> {"pid": 123}      child starts (run_id null) or resumes a run
  {"cmd": "wait", "pid": 123}  -> {"status": 0}   reap the child (after a kill too)
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from pathlib import Path
from typing import Any

from orchestra.agents.step_runner import GatewayStepRunner
from orchestra.definitions.specs import AgentSpec, StepSpec, WorkflowSpec
from orchestra.engine.events import EventBus
from orchestra.engine.ids import RunId
from orchestra.engine.protocols import StepContext, StepResult
from orchestra.engine.scheduler import Engine, EngineSettings
from orchestra.engine.states import RunStatus
from orchestra.llm.config import GatewayConfig
from orchestra.llm.gateway import build_gateway
from orchestra.llm.scripted import Reply
from orchestra.store.database import connect
from orchestra.store.run_store import SqlRunStore

AGENT = AgentSpec(
    name="writer",
    model="scripted/slow",
    system_prompt="You write.",
    path=Path("agents/writer.agent.md"),
)


def _step(step_id: str, deps: tuple[str, ...] = ()) -> StepSpec:
    reads = tuple(f"{dep}_out" for dep in deps)
    text = f"write {step_id}" + "".join(f" [${{{name}}}]" for name in reads)
    return StepSpec(
        id=step_id,
        agent_name="writer",
        instruction=text,
        input_vars=reads,
        output_vars=(f"{step_id}_out",),
        dependencies=deps,
    )


SPEC = WorkflowSpec(
    name="kill-test",
    steps=(
        _step("a"),
        _step("b1", ("a",)),
        _step("b2", ("a",)),
        _step("b3", ("a",)),
        _step("c", ("b1", "b2", "b3")),
        _step("d1", ("c",)),
        _step("d2", ("c",)),
        _step("e", ("d1", "d2")),
    ),
    agents={"writer": AGENT},
    path=Path("workflows/kill-test.workflow.md"),
    source_hash="kill-test-v1",
)


class SideEffectRunner:
    """Wraps the real step runner; appends "<idempotency key> <attempt> start|done" lines."""

    def __init__(self, inner: GatewayStepRunner, log: str) -> None:
        self.inner = inner
        self.fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def run_step(self, ctx: StepContext) -> StepResult:
        os.write(self.fd, f"{ctx.idempotency_key} {ctx.attempt} start\n".encode())
        result = await self.inner.run_step(ctx)
        os.write(self.fd, f"{ctx.idempotency_key} {ctx.attempt} done\n".encode())
        return result


async def _work(command: dict[str, Any]) -> int:
    rng = random.Random(command["seed"])
    gateway = build_gateway(GatewayConfig(cache="off"))
    gateway.scripts.register("slow", lambda _messages: Reply(delay_s=rng.uniform(0.01, 0.06)))
    database = await connect(command["url"])
    store = SqlRunStore(database)
    bus = EventBus(store.read_events)
    store.add_sink(bus)
    async with store:
        engine = Engine(
            store,
            SideEffectRunner(GatewayStepRunner(gateway), command["log"]),
            EngineSettings(lease_s=30.0),
        )
        run_id = (
            RunId(command["run_id"]) if command["run_id"] else await engine.create_run(SPEC, {})
        )
        print(json.dumps({"run_id": run_id}), flush=True)

        async def echo_events() -> None:
            async for event in bus.subscribe(run_id, 0):
                print(json.dumps(event.to_json()), flush=True)

        printer = asyncio.create_task(echo_events())
        status = await engine.drive(run_id)
        await printer
    await database.aclose()
    return 0 if status is RunStatus.SUCCEEDED else 1


def _child(command: dict[str, Any]) -> None:
    out = os.open(command["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - the child's own stdout
    sys.stderr = sys.stdout
    code = 2
    try:
        code = asyncio.run(_work(command))
    except BaseException as error:  # report anything, then exit without running parent cleanup
        print(json.dumps({"crash": repr(error)}), flush=True)
    finally:
        os._exit(code)


async def _warm_up() -> None:
    """Import everything LiteLLM loads lazily, once, before any fork."""
    from orchestra.llm.types import ChatMessage, ChatRequest

    gateway = build_gateway(GatewayConfig(cache="off"))
    request = ChatRequest(model="scripted/echo", messages=[ChatMessage(role="user", content="hi")])
    await gateway.chat(request)
    await gateway.close()


def main() -> None:
    asyncio.run(_warm_up())
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["cmd"] == "spawn":
            pid = os.fork()
            if pid == 0:
                _child(command)
            print(json.dumps({"pid": pid}), flush=True)
        elif command["cmd"] == "wait":
            _, status = os.waitpid(command["pid"], 0)
            print(json.dumps({"status": status}), flush=True)


if __name__ == "__main__":
    main()
