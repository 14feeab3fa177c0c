"""Plan checks against a catalogue: unknown agent or action, missing parameter, unknown
dependency, duplicate id and cycles are each named; the generated schema lists only the
catalogue's (agent, action) pairs with their required parameters; a valid plan compiles
to a DAG through the workflow builder; a planner whose answers stay invalid raises
PlanRejected carrying the model's answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestra.definitions.specs import AgentSpec
from orchestra.llm.config import GatewayConfig
from orchestra.llm.gateway import build_gateway
from orchestra.llm.scripted import Reply, ScriptRegistry
from orchestra.planner import Planner, PlanRejected, catalogue_of, compile_plan
from orchestra.planner.schema import plan_schema
from orchestra.planner.validate import Plan, check_plan, parse_plan

AGENTS = {
    "lincoln": AgentSpec(
        name="lincoln", system_prompt="browse", tools=("web.*",), path=Path("l.md")
    ),
    "shaun": AgentSpec(name="shaun", system_prompt="sheets", path=Path("s.md")),
}
TOOLS = {"web.search": {"properties": {"query": {"type": "string"}}, "required": ["query"]}}
CATALOGUE = catalogue_of(AGENTS, TOOLS.get, lambda name: f"about {name}", list(TOOLS))


def plan(*steps: dict[str, object]) -> Plan:
    return Plan.model_validate({"objective": "o", "steps": list(steps)})


def step(id: str, agent: str, action: str, deps: list[str] = (), **params: str) -> dict:  # type: ignore[assignment]
    return {"id": id, "agent": agent, "action": action, "params": params, "depends_on": list(deps)}


def test_catalogue_expands_tool_patterns_and_gives_toolless_agents_respond() -> None:
    lincoln = CATALOGUE.agent("lincoln")
    assert lincoln is not None and [a.name for a in lincoln.actions] == ["web.search"]
    assert lincoln.actions[0].required == ("query",)
    shaun = CATALOGUE.agent("shaun")
    assert shaun is not None and [a.name for a in shaun.actions] == ["respond"]
    assert "action web.search (params: query)" in CATALOGUE.describe()


def test_each_problem_is_named() -> None:
    good = plan(
        step("a", "lincoln", "web.search", query="cto"), step("b", "shaun", "respond", ["a"])
    )
    assert check_plan(good, CATALOGUE) == []
    problems = check_plan(
        plan(
            step("a", "bob", "respond"),
            step("b", "lincoln", "web.fetch"),
            step("c", "lincoln", "web.search"),
            step("d", "shaun", "respond", ["zz"]),
            step("d", "shaun", "respond"),
        ),
        CATALOGUE,
    )
    text = "\n".join(problems)
    assert "unknown agent 'bob'; agents: lincoln, shaun" in text
    assert "agent 'lincoln' has no action 'web.fetch'; its actions: web.search" in text
    assert "action 'web.search' needs parameter 'query'" in text
    assert "depends on unknown step 'zz'" in text
    assert "step id 'd' is used more than once" in text
    cyclic = check_plan(
        plan(step("a", "shaun", "respond", ["b"]), step("b", "shaun", "respond", ["a"])), CATALOGUE
    )
    assert any("cycle" in p for p in cyclic)


def test_parse_reports_non_json_and_shape() -> None:
    assert parse_plan("not json")[1][0].startswith("the answer is not JSON")
    assert "steps" in parse_plan('{"objective": "o"}')[1][0]
    fenced, problems = parse_plan('```json\n{"objective": "o", "steps": []}\n```')
    assert fenced is not None and problems == []


def test_schema_names_only_catalogue_pairs() -> None:
    schema = plan_schema(CATALOGUE)
    variants = schema["properties"]["steps"]["items"]["anyOf"]
    pairs = {
        (v["properties"]["agent"]["const"], v["properties"]["action"]["const"]) for v in variants
    }
    assert pairs == {("lincoln", "web.search"), ("shaun", "respond")}
    search = next(v for v in variants if v["properties"]["action"]["const"] == "web.search")
    assert search["properties"]["params"]["required"] == ["query"]


def test_a_valid_plan_compiles_to_a_dag() -> None:
    good = plan(
        step("a", "lincoln", "web.search", query="cto"), step("b", "shaun", "respond", ["a"])
    )
    spec = compile_plan(good, AGENTS, remember="command")
    b = next(s for s in spec.steps if s.id == "b")
    assert b.dependencies == ("a",) and "a_result" in b.input_vars
    assert b.remember == "command"
    a = next(s for s in spec.steps if s.id == "a")
    assert '"query": "cto"' in a.instruction and "web.search" in a.instruction


async def test_answers_invalid_twice_are_rejected_with_the_answer() -> None:
    scripts = ScriptRegistry()
    cyclic = json.dumps(
        {
            "objective": "o",
            "steps": [step("a", "shaun", "respond", ["b"]), step("b", "shaun", "respond", ["a"])],
        }
    )
    scripts.register("p", [Reply(text=cyclic), Reply(text=cyclic)])
    gateway = build_gateway(GatewayConfig(cache="off"), scripts=scripts)
    planner = Planner(gateway, "scripted/p", CATALOGUE)
    with pytest.raises(PlanRejected) as rejected:
        await planner.plan("do it")
    assert "cycle" in str(rejected.value) and cyclic in rejected.value.answer
    assert len(scripts.calls("p")) == 2
