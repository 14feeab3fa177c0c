"""The scripted model: ``scripted/<name>`` answers from a script, offline.

It stands in for hosted providers in tests and demos, behind the same gateway
code as a real model (routing, retries, fallbacks, usage, cache, streaming), so
engine and agent tests exercise real gateway code; like every in-process model it
is called directly, without LiteLLM. It never stands in for our
own components.

Use from a test of any package::

    scripts = ScriptRegistry()
    scripts.register("planner", [
        Reply(tool_calls=[ScriptedToolCall("files.read", {"path": "a.txt"})]),
        Reply(text="done"),
    ])
    gateway = build_gateway(GatewayConfig(cache="off"), scripts=scripts)
    await gateway.chat(ChatRequest(model="scripted/planner", messages=[...]))
    assert len(scripts.calls("planner")) == 2

Built-in scripts: ``scripted/echo`` answers ``echo: <last user message>``
(or, with a response schema, a minimal JSON instance of it); ``scripted/instant``
answers ``ok`` at once, for benchmarks; ``scripted/echo-after-200ms`` answers like echo
after 200 ms (any number of milliseconds).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from orchestra.llm import handler_replies as replies
from orchestra.llm.errors import ScriptError

if TYPE_CHECKING:
    from litellm.llms.custom_llm import CustomLLM

    from orchestra.llm.providers import ContextLookup, InProcessCall

PROVIDER = "scripted"

ScriptedFailure = Literal[
    "rate_limit", "timeout", "unavailable", "context_window", "auth", "bad_request"
]


@dataclass(frozen=True)
class ScriptedToolCall:
    """A tool call the scripted model makes. ``raw_arguments`` overrides ``arguments``
    verbatim, e.g. to send malformed JSON."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw_arguments: str | None = None

    def arguments_text(self) -> str:
        if self.raw_arguments is not None:
            return self.raw_arguments
        return json.dumps(self.arguments)


@dataclass(frozen=True)
class Reply:
    """One scripted answer: text and/or tool calls, after ``delay_s``, or a failure.

    A reply with neither text nor tool calls answers like ``echo``.
    """

    text: str | None = None
    tool_calls: Sequence[ScriptedToolCall] = ()
    delay_s: float = 0.0
    fail: ScriptedFailure | None = None
    retry_after: float | None = None
    """For ``fail="rate_limit"``: the Retry-After the fake provider sends."""


Script = Sequence[Reply | str] | Callable[[list[dict[str, Any]]], Reply | str]
"""A list of replies consumed in order (one per call), or a function of the messages."""


class ScriptRegistry:
    """Named scripts for one gateway, plus a log of the messages each received."""

    def __init__(self) -> None:
        self._scripts: dict[str, Script] = {
            "echo": _echo,
            "instant": lambda _messages: Reply(text="ok"),
        }
        self._positions: dict[str, int] = {}
        self._calls: dict[str, list[list[dict[str, Any]]]] = {}
        self._repeat_last: dict[str, bool] = {}
        self._lock = threading.Lock()

    def register(self, name: str, script: Script, *, repeat_last: bool = False) -> None:
        """Add (or replace) ``scripted/<name>``; ``repeat_last`` keeps answering the last reply."""
        with self._lock:
            self._scripts[name] = script
            self._positions[name] = 0
            self._calls[name] = []
            self._repeat_last[name] = repeat_last

    def names(self) -> list[str]:
        return sorted(self._scripts)

    def knows(self, name: str) -> bool:
        """Whether ``scripted/<name>`` answers: registered, or ``echo-after-<N>ms``."""
        return name in self._scripts or _delayed_echo(name) is not None

    def calls(self, name: str) -> list[list[dict[str, Any]]]:
        """The messages of every call ``scripted/<name>`` received, in order."""
        return list(self._calls.get(name, []))

    def next_reply(self, name: str, messages: list[dict[str, Any]]) -> Reply:
        """The reply for this call; raises :class:`ScriptError` when none is left."""
        with self._lock:
            script = self._scripts.get(name) or _delayed_echo(name)
            if script is None:
                raise ScriptError(
                    f"no script named {name!r} (scripted/{name}). Register it with "
                    f"ScriptRegistry.register({name!r}, [...]); known: {', '.join(sorted(self._scripts))}"
                )
            self._calls.setdefault(name, []).append(messages)
            if callable(script):
                reply = script(messages)
            else:
                position = self._positions.get(name, 0)
                if position >= len(script):
                    if not (self._repeat_last.get(name) and script):
                        raise ScriptError(
                            f"script {name!r} has no reply left after {len(script)} call(s). "
                            "Add replies or register it with repeat_last=True."
                        )
                    position = len(script) - 1
                self._positions[name] = position + 1
                reply = script[position]
        return Reply(text=reply) if isinstance(reply, str) else reply


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


_DELAYED_ECHO = re.compile(r"echo-after-(\d{1,6})ms")


def _delayed_echo(name: str) -> Script | None:
    """``scripted/echo-after-<N>ms``: answers like echo after N milliseconds, in any
    process (a worker started from the command line has no registry a test could fill):
    the latency-bound model of the distributed tests and benchmarks."""
    matched = _DELAYED_ECHO.fullmatch(name)
    if matched is None:
        return None
    delay = Reply(delay_s=int(matched.group(1)) / 1000)
    return lambda _messages: delay


def _echo(messages: list[dict[str, Any]]) -> Reply:
    return Reply()  # no text, no tool calls: answered like echo by _reply_text


def schema_instance(schema: dict[str, Any], text: str) -> Any:
    """A small value that satisfies ``schema`` (the common JSON-schema keywords), strings = text."""
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return schema_instance(schema[key][0], text)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props: dict[str, Any] = schema.get("properties", {})
        required = schema.get("required", list(props))
        return {name: schema_instance(props.get(name, {}), text) for name in required}
    if kind == "array":
        count = int(schema.get("minItems", 0))
        return [schema_instance(schema.get("items", {}), text) for _ in range(count)]
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return text


def _count_tokens(text: str) -> int:
    """Deterministic stand-in for a tokenizer: whitespace-separated words."""
    return len(text.split())


def _token_counts(
    messages: list[dict[str, Any]], text: str | None, calls: list[dict[str, Any]]
) -> tuple[int, int]:
    prompt = sum(_count_tokens(str(m.get("content") or "")) for m in messages)
    completion = _count_tokens(text or "") + sum(
        _count_tokens(c["function"]["arguments"]) for c in calls
    )
    return prompt, completion


def _raise_failure(reply: Reply, model: str) -> None:
    import httpx
    from litellm import exceptions as litellm_errors

    message = f"scripted failure: {reply.fail}"
    request = httpx.Request("POST", "http://scripted.invalid/v1/chat/completions")
    match reply.fail:
        case "rate_limit":
            headers = {"retry-after": str(reply.retry_after)} if reply.retry_after else {}
            response = httpx.Response(429, headers=headers, request=request)
            raise litellm_errors.RateLimitError(
                message, llm_provider=PROVIDER, model=model, response=response
            )
        case "timeout":
            raise litellm_errors.Timeout(message, model=model, llm_provider=PROVIDER)
        case "unavailable":
            raise litellm_errors.ServiceUnavailableError(
                message,
                llm_provider=PROVIDER,
                model=model,
                response=httpx.Response(503, request=request),
            )
        case "context_window":
            raise litellm_errors.ContextWindowExceededError(
                message, model=model, llm_provider=PROVIDER
            )
        case "auth":
            raise litellm_errors.AuthenticationError(
                message,
                llm_provider=PROVIDER,
                model=model,
                response=httpx.Response(401, request=request),
            )
        case "bad_request":
            raise litellm_errors.BadRequestError(
                message,
                model=model,
                llm_provider=PROVIDER,
                response=httpx.Response(400, request=request),
            )


def _tool_call_dicts(reply: Reply, counter: itertools.count[int]) -> list[dict[str, Any]]:
    return [
        {
            "id": f"call_{next(counter)}",
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_text()},
        }
        for call in reply.tool_calls
    ]


def _reply_text(reply: Reply, messages: list[dict[str, Any]], params: dict[str, Any]) -> str | None:
    response_format = params.get("response_format") or {}
    schema = (response_format.get("json_schema") or {}).get("schema")
    if reply.text is None and not reply.tool_calls:
        if schema is not None:
            return json.dumps(schema_instance(schema, _last_user_text(messages)))
        return f"echo: {_last_user_text(messages)}"
    return reply.text


class ScriptedModel:
    """``scripted/<name>`` answered in-process: the gateway calls it directly
    (:class:`~orchestra.llm.providers.InProcessModel`), so a scripted call costs what a
    real model's call costs in Orchestra's own code and nothing of LiteLLM's.

    ``fail`` raises a reply's scripted failure: Orchestra's errors by default, LiteLLM's
    exceptions when LiteLLM's handler wraps this model.
    """

    def __init__(self, fail: Callable[[Reply, str], None] | None = None) -> None:
        self._counter = itertools.count(1)
        self._fail = fail or _raise_our_failure

    async def _reply(self, call: InProcessCall) -> Reply:
        reply = call.context.scripts.next_reply(call.model, call.messages)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.fail is not None:
            self._fail(reply, call.model)
        return reply

    async def complete(self, call: InProcessCall) -> replies.Answer:
        reply = await self._reply(call)
        text = _reply_text(reply, call.messages, call.params)
        calls = _tool_call_dicts(reply, self._counter)
        return replies.Answer(
            text,
            calls,
            "tool_calls" if calls else "stop",
            *_token_counts(call.messages, text, calls),
        )

    async def stream(self, call: InProcessCall) -> AsyncIterator[dict[str, Any]]:
        reply = await self._reply(call)
        text = _reply_text(reply, call.messages, call.params) or ""
        calls = _tool_call_dicts(reply, self._counter)
        pieces = text.split(" ") if text else []
        for i, piece in enumerate(pieces):
            yield replies.chunk(piece if i == 0 else " " + piece)
        for item in replies.tool_chunks(calls):
            yield item
        yield replies.final_chunk("stop", calls, *_token_counts(call.messages, text, calls))


def _raise_our_failure(reply: Reply, model: str) -> None:
    """A scripted failure as the error the gateway makes of the same failure from a server."""
    from orchestra.llm import errors
    from orchestra.llm.translate import failure

    text = f"scripted failure: {reply.fail}"
    name = f"{PROVIDER}/{model}"
    kinds: dict[str, tuple[type[errors.ProviderError], int | None]] = {
        "rate_limit": (errors.RateLimited, 429),
        "timeout": (errors.Timeout, 408),
        "unavailable": (errors.ProviderUnavailable, 503),
        "context_window": (errors.ContextWindowExceeded, 400),
        "auth": (errors.AuthenticationFailed, 401),
        "bad_request": (errors.ProviderError, 400),
    }
    cls, status = kinds[str(reply.fail)]
    extra: dict[str, object] = {}
    if cls is errors.RateLimited:
        extra["retry_after"] = reply.retry_after
    raise failure(cls, text, model=name, status=status, provider=PROVIDER, **extra)


def make_scripted_handler(context_for: ContextLookup) -> CustomLLM:
    """The LiteLLM custom handler behind ``scripted/…`` (a plugin's route through the
    Router, and the path of a caller that uses LiteLLM itself); one per process, shared
    by gateways. ``context_for`` finds the calling gateway's context from the call's
    litellm_params. Built lazily because importing LiteLLM is slow."""
    from litellm.llms.custom_llm import CustomLLM

    model = ScriptedModel(fail=_raise_failure)

    def call_of(kwargs: dict[str, Any]) -> InProcessCall:
        from orchestra.llm.providers import InProcessCall

        return InProcessCall(
            kwargs["model"],
            kwargs["messages"],
            kwargs.get("optional_params") or {},
            context_for(kwargs.get("litellm_params")),
        )

    class ScriptedLLM(CustomLLM):
        async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
            answer = await model.complete(call_of(kwargs))
            return answer.model_response(f"{PROVIDER}/{kwargs['model']}")

        async def astreaming(  # type: ignore[override]
            self, *args: Any, **kwargs: Any
        ) -> AsyncIterator[dict[str, Any]]:
            async for item in model.stream(call_of(kwargs)):
                yield item

    return ScriptedLLM()
