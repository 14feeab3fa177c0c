"""tool_choice on the embedded local model: the grammar that forces a valid tool call.

The schema tests are pure; the last test asks the real Gemma 3 270M model
(through the gateway) and checks what comes back against the tool's schema.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import jsonschema
import pytest

from orchestra.llm.config import GatewayConfig, LocalModelConfig
from orchestra.llm.errors import EmptyAnswer
from orchestra.llm.gateway import Gateway, build_gateway
from orchestra.llm.local import (
    FORCED_CALL_TRIES,
    clean_answer,
    offered_tools,
    parse_tool_call,
    render_prompt,
    tool_call_schema,
)
from orchestra.llm.types import ChatMessage, ChatRequest, ToolSchema
from orchestra.tools.builtin import register_builtins
from orchestra.tools.registry import ToolRegistry


def builtin_tools(*patterns: str) -> list[ToolSchema]:
    registry = ToolRegistry()
    register_builtins(registry)
    return registry.for_agent(list(patterns)).schemas()


def params(tools: list[ToolSchema], choice: Any) -> dict[str, Any]:
    """What LiteLLM hands the local provider."""
    return {
        "tools": [{"type": "function", "function": t.model_dump()} for t in tools],
        "tool_choice": choice,
    }


def named(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name}}


def test_a_named_tool_allows_exactly_its_required_arguments() -> None:
    schema = tool_call_schema(params(builtin_tools("files.*", "shell"), named("shell")))
    assert schema is not None
    good = {"tool_call": {"name": "shell", "arguments": {"argv": ["ls", "-R"]}}}
    jsonschema.validate(good, schema)
    for bad in (
        {"tool_call": {"name": "files.write", "arguments": {"argv": ["ls"]}}},  # other tool
        {"tool_call": {"name": "shell", "arguments": {}}},  # missing argv
        {"tool_call": {"name": "shell", "arguments": {"argv": ["ls"], "timeout_s": 0}}},
        {"tool_call": {"name": "shell", "arguments": {"argv": ["ls"] * 7}}},  # capped
        {"answer": "hi"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)


def test_required_allows_any_offered_tool_and_inlines_refs() -> None:
    nested = ToolSchema(
        name="notes.add",
        description="Add a note.",
        parameters={
            "type": "object",
            "properties": {"note": {"$ref": "#/$defs/Note"}},
            "required": ["note"],
            "$defs": {
                "Note": {
                    "type": "object",
                    "properties": {"text": {"type": "string"}},
                    "required": ["text"],
                }
            },
        },
    )
    schema = tool_call_schema(params([*builtin_tools("files.read"), nested], "required"))
    assert schema is not None and "$ref" not in json.dumps(schema)
    jsonschema.validate(
        {"tool_call": {"name": "notes.add", "arguments": {"note": {"text": "x"}}}}, schema
    )
    jsonschema.validate({"tool_call": {"name": "files.read", "arguments": {"path": "a"}}}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"tool_call": {"name": "notes.add", "arguments": {"note": 1}}}, schema)


def test_auto_and_none_are_not_forced_and_none_hides_the_tools() -> None:
    tools = builtin_tools("files.*")
    assert tool_call_schema(params(tools, "auto")) is None
    assert tool_call_schema(params(tools, None)) is None
    assert tool_call_schema(params(tools, "none")) is None
    assert offered_tools(params(tools, "none")) == []
    assert [t["function"]["name"] for t in offered_tools(params(tools, named("files.list")))] == [
        "files.list"
    ]
    messages = [
        {"role": "user", "content": "List the files."},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"function": {"name": "files.list", "arguments": '{"path": "."}'}, "id": "c1"}
            ],
        },
        {"role": "tool", "content": "a.txt", "tool_call_id": "c1"},
    ]
    prompt = render_prompt(messages, [], answer=True)
    assert '{"tool_call": {"name": "files.list", "arguments": {"path": "."}}}' in prompt
    assert "Tool result: a.txt\nNow answer the request in plain text" in prompt
    assert prompt.endswith("Answer:")
    assert "Tools (" not in prompt


def test_a_forced_call_with_a_raw_newline_in_a_string_is_a_call() -> None:
    # llama-cpp-python's grammar lets the model write raw control characters in strings;
    # strict JSON refused such a call, and the same unusable call came back on the retry
    forced = params(builtin_tools("files.*"), named("files.write"))
    written = '{"tool_call": {"name": "files.write", "arguments": {"path": "a.md", '
    written += '"content": "Workspaces: Workspaces:\n"}} }'
    cleaned = clean_answer(written, forced)
    assert json.loads(cleaned)["tool_call"]["arguments"]["content"] == "Workspaces: Workspaces:\n"
    call = parse_tool_call(cleaned, {"files.write"})
    assert call is not None and json.loads(call[1]) == {
        "path": "a.md",
        "content": "Workspaces: Workspaces:\n",
    }
    looping = written.replace("Workspaces: Workspaces:", "Workspaces: " * 20)
    content = json.loads(clean_answer(looping, forced))["tool_call"]["arguments"]["content"]
    assert content == "Workspaces:"  # cut where the loop starts again


@pytest.fixture
async def gateway() -> AsyncIterator[Gateway]:
    # No wall clock on the model's calls (timeout_s=None): on a loaded machine any guess is
    # wrong; what bounds the work is the tokens each call may generate (max_tokens below).
    built = build_gateway(
        GatewayConfig(cache="off", timeout_s=None, local=LocalModelConfig(n_ctx=4096))
    )
    yield built
    await built.close()


@pytest.mark.timeout(0)  # bounded by tokens: 3 calls of <= 200 and one of <= 32, not by time
async def test_the_local_model_makes_the_forced_call(gateway: Gateway) -> None:
    tools = builtin_tools("files.*", "shell")
    messages = [
        ChatMessage(role="system", content="You explore a folder with your tools."),
        ChatMessage(role="user", content="List the workspace with `ls -R`, then write notes."),
    ]
    by_name = {t.name: t for t in tools}

    async def ask(choice: str, max_tokens: int = 200) -> Any:
        return await gateway.chat(
            ChatRequest(
                model="local",
                messages=messages,
                tools=tools,
                tool_choice=choice,
                temperature=0.2,
                max_tokens=max_tokens,
            )
        )

    for choice in ("shell", "files.write", "required"):
        response = await ask(choice)
        [call] = response.tool_calls
        assert choice == "required" or call.name == choice
        arguments = json.loads(call.arguments)
        jsonschema.validate(arguments, by_name[call.name].parameters)
    answered = await ask("none", max_tokens=32)
    assert answered.tool_calls == [] and answered.content


@pytest.mark.timeout(0)  # bounded by tokens: 4 tries of 3 tokens
async def test_an_unusable_forced_call_is_asked_again_at_another_seed(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    """A call the cap cuts short is no call: the handler tries once more itself (at its
    own seed and a higher temperature) before the gateway's own retry asks again."""
    request = ChatRequest(
        model="local",
        messages=[ChatMessage(role="user", content="Write notes to notes.md.")],
        tools=builtin_tools("files.write"),
        tool_choice="files.write",
        max_tokens=3,  # never room for a whole call
    )
    caplog.set_level("INFO", logger="orchestra.llm.local")
    with pytest.raises(EmptyAnswer) as raised:
        await gateway.chat(request)
    tries = gateway.num_retries + 1
    assert raised.value.usage is not None
    assert raised.value.usage.completion_tokens == 3 * FORCED_CALL_TRIES * tries
    asked_again = [r for r in caplog.records if "asking again at another seed" in r.message]
    assert len(asked_again) == tries
