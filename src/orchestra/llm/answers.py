"""Reading one answer off LiteLLM, and deciding whether it is an answer at all.

:func:`parse_response` reads a whole answer, :func:`consume_stream` a streamed
one (handing text deltas to the token callback), and :func:`check_shape`
refuses what breaks the request's contract: tool-call arguments that are not a
JSON object, structured output that is not the schema, an answer with neither
text nor a tool call. A stream that ends without the server ever saying why
(no finish reason) was cut short: it raises
:class:`~orchestra.llm.errors.StreamInterrupted`, like one that broke off.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from orchestra.llm.errors import (
    EmptyAnswer,
    LLMError,
    MalformedOutput,
    MalformedToolCall,
    ProviderUnavailable,
    StreamInterrupted,
)
from orchestra.llm.translate import translate_litellm_error
from orchestra.llm.types import ChatRequest, ChatResponse, TokenCallback, ToolCall, Usage


def parse_response(raw: Any) -> ChatResponse:
    """A non-streamed LiteLLM ``ModelResponse`` as our :class:`ChatResponse`."""
    choice = raw.choices[0]
    message = choice.message
    calls = [
        ToolCall(id=c.id or "", name=c.function.name or "", arguments=c.function.arguments or "")
        for c in (message.tool_calls or [])
    ]
    usage = getattr(raw, "usage", None)
    return ChatResponse(
        content=message.content,
        tool_calls=calls,
        finish_reason=choice.finish_reason,
        usage=Usage(
            prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            cost_usd=reported_cost(usage),
        ),
    )


def reported_cost(usage: Any) -> float:
    """The cost the provider itself reports in ``usage.cost`` (OpenRouter does, in USD),
    else 0 and the gateway prices the tokens from LiteLLM's map, which lists no
    OpenRouter models."""
    cost = getattr(usage, "cost", None)
    if cost is None and isinstance(usage, dict):
        cost = usage.get("cost")
    try:
        return max(float(cost or 0.0), 0.0)
    except (TypeError, ValueError):
        return 0.0


async def consume_stream(
    stream: Any,
    request: ChatRequest,
    on_token: TokenCallback | None,
    *,
    translate: Callable[[BaseException], LLMError] | None = None,
) -> ChatResponse:
    """Read a LiteLLM stream (or, with ``translate`` for its exceptions, an ``openai`` SDK
    stream) to its end, handing each text delta to ``on_token``."""
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    finish: str | None = None
    usage = Usage()
    iterator = stream.__aiter__()
    while True:
        try:
            chunk = await iterator.__anext__()
        except StopAsyncIteration:
            break
        except Exception as exc:
            if translate is not None:
                cause = translate(exc)
            else:
                cause = translate_litellm_error(exc, model=request.model)
            raise _broken(cause, request, text, calls) from exc
        chunk_usage = getattr(chunk, "usage", None)
        if chunk_usage is not None:
            usage = Usage(
                prompt_tokens=chunk_usage.prompt_tokens or 0,
                completion_tokens=chunk_usage.completion_tokens or 0,
                cost_usd=reported_cost(chunk_usage),
            )
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        delta = choice.delta
        for call in getattr(delta, "tool_calls", None) or []:
            slot = calls.setdefault(call.index or 0, {"id": "", "name": "", "arguments": ""})
            slot["id"] = call.id or slot["id"]
            if call.function is not None:
                slot["name"] = call.function.name or slot["name"]
                slot["arguments"] += call.function.arguments or ""
        if delta.content:
            text.append(delta.content)
            if on_token is not None:
                await on_token(delta.content)
    said_why = finish is not None if translate is not None else _server_said_why(stream)
    if not said_why:
        raise _cut_short(request, text)
    return ChatResponse(
        content="".join(text) or None,
        tool_calls=[ToolCall(**calls[i]) for i in sorted(calls)],
        finish_reason=finish,
        usage=usage,
    )


async def consume_chunks(
    chunks: AsyncIterator[dict[str, Any]], request: ChatRequest, on_token: TokenCallback | None
) -> ChatResponse:
    """Read an in-process model's stream of ``GenericStreamingChunk`` dicts to its end,
    handing each text delta to ``on_token``; the same checks as :func:`consume_stream`."""
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    finish: str | None = None
    usage = Usage()
    iterator = chunks.__aiter__()
    while True:
        try:
            chunk = await iterator.__anext__()
        except StopAsyncIteration:
            break
        except Exception as exc:
            cause = exc if isinstance(exc, LLMError) else _provider_bug(exc, request)
            raise _broken(cause, request, text, calls) from exc
        tool = chunk.get("tool_use")
        if tool:
            slot = calls.setdefault(
                int(tool.get("index") or 0), {"id": "", "name": "", "arguments": ""}
            )
            slot["id"] = str(tool.get("id") or slot["id"])
            function = tool.get("function") or {}
            slot["name"] = str(function.get("name") or slot["name"])
            slot["arguments"] += str(function.get("arguments") or "")
        finish = chunk.get("finish_reason") or finish
        chunk_usage = chunk.get("usage")
        if chunk_usage:
            usage = Usage(
                prompt_tokens=int(chunk_usage.get("prompt_tokens") or 0),
                completion_tokens=int(chunk_usage.get("completion_tokens") or 0),
            )
        piece = chunk.get("text")
        if piece:
            text.append(piece)
            if on_token is not None:
                await on_token(piece)
    if finish is None:
        raise _cut_short(request, text)
    return ChatResponse(
        content="".join(text) or None,
        tool_calls=[ToolCall(**calls[i]) for i in sorted(calls)],
        finish_reason=finish,
        usage=usage,
    )


def _provider_bug(exc: BaseException, request: ChatRequest) -> LLMError:
    """A provider's own exception (not one of ours) fails the try, as LiteLLM made it."""
    from orchestra.llm.translate import failure

    return failure(ProviderUnavailable, f"{type(exc).__name__}: {exc}", model=request.model)


def _broken(
    cause: LLMError, request: ChatRequest, text: list[str], calls: dict[int, dict[str, str]]
) -> LLMError:
    """The error of a stream that raised ``cause`` after ``text`` and ``calls`` came."""
    if not text and not calls:
        # Nothing came yet: the call failed, not the stream; keep its own error
        # (an authentication failure must not be retried as a broken stream).
        return cause
    return StreamInterrupted(
        f"model {request.model!r}: the stream broke after "
        f"{sum(map(len, text))} characters ({cause}).",
        status=getattr(cause, "status", None),
        provider=getattr(cause, "provider", ""),
        model=request.model,
    )


def _cut_short(request: ChatRequest, text: list[str]) -> StreamInterrupted:
    return StreamInterrupted(
        f"model {request.model!r}: the stream ended after {sum(map(len, text))} characters "
        "without a finish reason, so the answer was cut short (llama.cpp-based servers end "
        "an earlier stream this way when a new request arrives; give such a server more "
        "parallel slots, e.g. llama-server --parallel, or add deployments).",
        model=request.model,
    )


def _server_said_why(stream: Any) -> bool:
    """Whether a chunk the server sent carried a finish reason.

    LiteLLM closes every stream with a ``finish_reason: "stop"`` chunk of its own when
    the server sent none; that chunk is not among the stream's ``chunks`` (what the
    server sent), so those are asked. A stream without that record counts as finished.
    """
    received = getattr(stream, "chunks", None)
    if not isinstance(received, list):
        return True
    return any(
        getattr(chunk, "choices", None) and chunk.choices[0].finish_reason for chunk in received
    )


def check_shape(response: ChatResponse, request: ChatRequest) -> None:
    """Raise :class:`MalformedOutput` when the answer breaks the request's contract."""
    if not response.tool_calls and not (response.content or "").strip():
        raise EmptyAnswer(
            f"model {request.model!r} answered with neither text nor a tool call "
            f"(finish reason {response.finish_reason!r}). Retry the step; if it keeps "
            "happening, check the server's logs or use another model.",
            model=request.model,
        )
    for call in response.tool_calls:
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError as exc:
            raise MalformedToolCall(
                f"model {request.model!r} called tool {call.name!r} with arguments that are not "
                f"JSON: {call.arguments[:200]!r}. Retry the step or use a stronger model.",
                raw=call.arguments,
                model=request.model,
            ) from exc
        if not isinstance(arguments, dict):
            raise MalformedToolCall(
                f"model {request.model!r} called tool {call.name!r} with arguments that are not "
                f"a JSON object: {call.arguments[:200]!r}. Retry the step or use a stronger model.",
                raw=call.arguments,
                model=request.model,
            )
    if request.response_schema is not None and not response.tool_calls:
        import jsonschema  # type: ignore[import-untyped]

        text = response.content or ""
        try:
            jsonschema.validate(json.loads(text), request.response_schema)
        except (ValueError, jsonschema.ValidationError) as exc:
            reason = getattr(exc, "message", str(exc))
            raise MalformedOutput(
                f"model {request.model!r} did not answer with JSON matching the response schema "
                f"({reason[:200]}). Retry the step or use a stronger model.",
                raw=text,
                model=request.model,
            ) from exc
