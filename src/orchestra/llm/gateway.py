"""The model gateway: one ``chat`` call over LiteLLM's Router.

:class:`Gateway` turns a :class:`~orchestra.llm.types.ChatRequest` into a
Router call (aliases, load balancing across deployments, retries, fallbacks,
timeouts, rpm/tpm limits are all the Router's), streams tokens to the caller,
checks the answer's shape (tool-call JSON, response schema), answers from the
response cache when asked, and reports what the call cost in
:class:`~orchestra.llm.types.Usage`. LiteLLM's exceptions are translated into
:mod:`orchestra.llm.errors` here and nowhere else.

A request names an alias, ``default`` (the configured default alias), or a raw
LiteLLM model string (``openai/gpt-4o-mini``): a provider string that is not an
alias gets a direct route, added to the Router on first use.

Build one with :func:`build_gateway`, pass it down, and ``await close()`` it.
"""

from __future__ import annotations

import inspect
import json
import time
from typing import Any

from orchestra.llm import providers
from orchestra.llm.cache import ResponseCache, build_cache, cache_key
from orchestra.llm.config import GatewayConfig, ResolvedModels
from orchestra.llm.errors import (
    LLMError,
    MalformedOutput,
    MalformedToolCall,
    ModelConfigError,
    ScriptError,
    StreamInterrupted,
    UnknownModel,
)
from orchestra.llm.scripted import ScriptRegistry
from orchestra.llm.translate import translate_litellm_error
from orchestra.llm.types import (
    ChatRequest,
    ChatResponse,
    RestartCallback,
    StreamRestart,
    TokenCallback,
    ToolCall,
    Usage,
)

DEFAULT_ALIAS = "default"


class Gateway:
    """Sends chat requests to the configured models. Implements ``ModelGateway``."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        scripts: ScriptRegistry | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        self.config = config
        self.models: ResolvedModels = config.resolved()
        self.scripts = scripts or ScriptRegistry()
        self._context = providers.GatewayContext(scripts=self.scripts, local=config.local)
        providers.install(self._context)
        self._cache = cache
        self._router = _build_router(self.models, config)
        self._labels: dict[str, str] = {}
        self._fallbacks: dict[str, list[str]] = {}

    @property
    def router(self) -> Any:
        """The underlying ``litellm.Router`` (for diagnostics; do not call it directly)."""
        return self._router

    @property
    def aliases(self) -> list[str]:
        return self.models.aliases

    def resolve(self, model: str) -> str:
        """The Router model group for ``model``; adds a direct route for provider strings."""
        if model == DEFAULT_ALIAS and DEFAULT_ALIAS not in self.models.aliases:
            model = self.models.default
        if model in self._router.model_names:
            return model
        provider = model.split("/", 1)[0] if "/" in model else ""
        providers.prepare_litellm()
        import litellm

        if provider and (
            provider in litellm.provider_list or provider in providers.custom_providers()
        ):
            if provider == "scripted":
                self._check_script(model.split("/", 1)[1])
            from litellm.types.router import Deployment, LiteLLM_Params

            self._router.add_deployment(
                Deployment(model_name=model, litellm_params=LiteLLM_Params(model=model))
            )
            return model
        raise UnknownModel(model, self.models.aliases)

    def _check_script(self, name: str) -> None:
        known = self.scripts.names()
        if name not in known:
            raise ScriptError(
                f"no script named {name!r}; register it with gateway.scripts.register({name!r}, "
                f"[...]) before calling scripted/{name}. Known: {', '.join(sorted(known))}"
            )

    async def chat(
        self,
        request: ChatRequest,
        on_token: TokenCallback | None = None,
        on_restart: RestartCallback | None = None,
    ) -> ChatResponse:
        """Answer ``request``; stream text deltas to ``on_token`` if given.

        Provider failures are the Router's: retries, then its fallbacks. What the
        Router cannot see is the gateway's: a stream that breaks after it started
        and an answer of the wrong shape (tool-call JSON, response schema) are
        asked again ``num_retries`` times, then of each fallback alias of the
        answering alias in turn. When tokens already went to ``on_token``,
        ``on_restart`` hears first that they are void. Raises an
        :class:`~orchestra.llm.errors.LLMError` subclass, carrying in ``usage``
        what the failed call cost, when nothing answered well.
        """
        cache = self._cache if request.cache else None
        key = cache_key(request) if cache is not None else None
        if cache is not None and key is not None:
            hit = await cache.get(key)
            if hit is not None:
                if on_token is not None and hit.content:
                    await on_token(hit.content)
                return hit.model_copy(
                    update={
                        "usage": hit.usage.model_copy(
                            update={
                                "cached": True,
                                "cost_usd": 0.0,
                                "latency_s": 0.0,
                                "retries": 0,
                                "fallbacks": 0,
                            }
                        )
                    }
                )
        started = time.perf_counter()
        attempt = _Attempts(self, request, on_token, on_restart)
        try:
            response = await attempt.run(self.resolve(request.model))
        except LLMError as exc:
            exc.usage = attempt.spent.model_copy(
                update={"latency_s": time.perf_counter() - started}
            )
            raise
        response.usage = attempt.merged(response.usage, time.perf_counter() - started)
        if cache is not None and key is not None:
            await cache.set(key, response)
        return response

    def fallbacks_of(self, group: str) -> list[str]:
        """The aliases ``router_settings.fallbacks`` names for ``group`` (else
        ``default_fallbacks``), in order."""
        chain = self._fallbacks.get(group)
        if chain is None:
            found: list[str] = []
            for entry in self.models.router_settings.get("fallbacks") or ():
                if isinstance(entry, dict) and isinstance(entry.get(group), list):
                    found.extend(str(alias) for alias in entry[group])
            if not found:
                found = [str(a) for a in self.models.router_settings.get("default_fallbacks") or ()]
            chain = [alias for alias in dict.fromkeys(found) if alias != group]
            self._fallbacks[group] = chain
        return chain

    async def _call(
        self, group: str, request: ChatRequest, on_token: TokenCallback | None
    ) -> tuple[ChatResponse, str]:
        """One Router call; returns the answer and the alias (model group) that gave it."""
        stream = request.stream or on_token is not None
        kwargs = _router_kwargs(group, request, self._context.token, stream=stream)
        metadata: dict[str, Any] = kwargs["metadata"]
        try:
            raw = await self._router.acompletion(**kwargs, stream=stream)
        except Exception as exc:
            raise translate_litellm_error(exc, model=request.model) from exc
        if not stream:
            response = _parse_response(raw)
        else:
            response = await self._consume_stream(raw, request, on_token)
        hidden = getattr(raw, "_hidden_params", None) or {}
        response.usage = self._usage(hidden, metadata, response.usage)
        headers = hidden.get("additional_headers") or {}
        return response, str(headers.get("x-litellm-model-group") or group)

    async def _consume_stream(
        self, stream: Any, request: ChatRequest, on_token: TokenCallback | None
    ) -> ChatResponse:
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
                cause = translate_litellm_error(exc, model=request.model)
                raise StreamInterrupted(
                    f"model {request.model!r}: the stream broke after "
                    f"{sum(map(len, text))} characters ({cause}).",
                    status=getattr(cause, "status", None),
                    provider=getattr(cause, "provider", ""),
                    model=request.model,
                ) from exc
            chunk_usage = getattr(chunk, "usage", None)
            if chunk_usage is not None:
                usage = Usage(
                    prompt_tokens=chunk_usage.prompt_tokens or 0,
                    completion_tokens=chunk_usage.completion_tokens or 0,
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
        return ChatResponse(
            content="".join(text) or None,
            tool_calls=[ToolCall(**calls[i]) for i in sorted(calls)],
            finish_reason=finish,
            usage=usage,
        )

    def _usage(self, hidden: dict[str, Any], metadata: dict[str, Any], usage: Usage) -> Usage:
        headers: dict[str, Any] = hidden.get("additional_headers") or {}
        fallbacks = int(headers.get("x-litellm-attempted-fallbacks") or 0)
        failed = {
            (p.get("model_group"), p.get("deployment_id"), p.get("attempted_retries"))
            for p in metadata.get("previous_models") or ()
            if isinstance(p, dict)
        }
        model = str(hidden.get("litellm_model_name") or "")
        cost = hidden.get("response_cost")
        if cost is None:
            cost = _cost(model, usage)
        return usage.model_copy(
            update={
                "cost_usd": float(cost or 0.0),
                "model": model,
                "deployment": self._label(str(hidden.get("model_id") or ""), headers),
                "retries": max(0, len(failed) - fallbacks),
                "fallbacks": fallbacks,
            }
        )

    def _label(self, model_id: str, headers: dict[str, Any]) -> str:
        """A readable name for the deployment that answered: ``alias[id or model@api_base]``."""
        if model_id in self._labels:
            return self._labels[model_id]
        deployment = self._router.get_deployment(model_id=model_id) if model_id else None
        if deployment is None:
            return str(headers.get("x-litellm-model-group") or "")
        params = deployment.litellm_params
        given = (
            (deployment.model_info.model_extra or {}).get("label")
            if deployment.model_info
            else None
        )
        where = f"@{params.api_base}" if params.api_base else ""
        label = f"{deployment.model_name}[{given or params.model + where}]"
        self._labels[model_id] = label
        return label

    def deployments(self) -> list[dict[str, Any]]:
        """The configured deployments (LiteLLM format, secrets masked), for ``models list``."""
        result = []
        for deployment in self.models.model_list:
            params = {
                k: ("***" if "key" in k.lower() or "secret" in k.lower() else v)
                for k, v in deployment.get("litellm_params", {}).items()
            }
            result.append({**deployment, "litellm_params": params})
        return result

    async def close(self) -> None:
        """Release the cache and the Router's clients. The gateway is unusable afterwards."""
        if self._cache is not None:
            await self._cache.close()
        self._router.discard()


class _Attempts:
    """The tries of one gateway call beyond the Router's: repeats and fallbacks for answers
    the Router took as good but the gateway does not (broken stream, wrong shape)."""

    def __init__(
        self,
        gateway: Gateway,
        request: ChatRequest,
        on_token: TokenCallback | None,
        on_restart: RestartCallback | None,
    ) -> None:
        self.gateway = gateway
        self.request = request
        self.on_token = on_token
        self.on_restart = on_restart
        self.spent = Usage()
        """Tokens and cost of answers thrown away, plus every retry and fallback taken."""
        self.streamed = 0
        self.restarts = 0

    async def _emit(self, text: str) -> None:
        assert self.on_token is not None
        self.streamed += len(text)
        await self.on_token(text)

    async def run(self, group: str) -> ChatResponse:
        gateway = self.gateway
        candidates = [group, *gateway.fallbacks_of(group)]
        emit = self._emit if self.on_token is not None else None
        index = 0
        alias = group
        bad_answer: LLMError | None = None  # the last broken or malformed answer
        while True:
            failure: LLMError | None = None
            for _try in range(gateway.config.num_retries + 1):
                if failure is not None:
                    await self._void_stream(failure, alias)
                    self.spent.retries += 1
                try:
                    response, answered = await gateway._call(alias, self.request, emit)
                except (StreamInterrupted, MalformedOutput) as exc:
                    failure = bad_answer = exc
                    continue
                except LLMError as exc:
                    if bad_answer is None:
                        raise  # the Router's verdict, after its own retries and fallbacks
                    failure = exc
                    break  # this fallback alias is down: try the next one
                try:
                    _check_shape(response, self.request)
                except MalformedOutput as exc:
                    failure = bad_answer = exc
                    self._spend(response.usage)
                    if answered in candidates:  # the Router fell back itself: go on from there
                        index = max(index, candidates.index(answered))
                    continue
                return response
            index += 1
            if index >= len(candidates):
                # What sent us past the first alias is what the caller must fix.
                assert bad_answer is not None
                raise bad_answer
            await self._void_stream(failure, candidates[index])
            alias = gateway.resolve(candidates[index])
            self.spent.fallbacks += 1

    async def _void_stream(self, failure: LLMError | None, next_alias: str) -> None:
        if self.streamed and self.on_restart is not None:
            self.restarts += 1
            await self.on_restart(
                StreamRestart(
                    restart=self.restarts,
                    reason=str(failure) if failure is not None else "",
                    discarded_chars=self.streamed,
                    model=next_alias,
                )
            )
        self.streamed = 0

    def _spend(self, usage: Usage) -> None:
        spent = self.spent
        spent.prompt_tokens += usage.prompt_tokens
        spent.completion_tokens += usage.completion_tokens
        spent.cost_usd += usage.cost_usd
        spent.retries += usage.retries
        spent.fallbacks += usage.fallbacks

    def merged(self, usage: Usage, latency_s: float) -> Usage:
        """The answer's usage plus what the discarded tries cost and took."""
        spent = self.spent
        return usage.model_copy(
            update={
                "prompt_tokens": usage.prompt_tokens + spent.prompt_tokens,
                "completion_tokens": usage.completion_tokens + spent.completion_tokens,
                "cost_usd": usage.cost_usd + spent.cost_usd,
                "retries": usage.retries + spent.retries,
                "fallbacks": usage.fallbacks + spent.fallbacks,
                "latency_s": latency_s,
            }
        )


def build_gateway(
    config: GatewayConfig | None = None, *, scripts: ScriptRegistry | None = None
) -> Gateway:
    """A gateway for ``config`` (defaults: local model, disk cache, retry once)."""
    config = config or GatewayConfig()
    cache = build_cache(config.cache, directory=config.cache_dir, redis_url=config.redis_url)
    return Gateway(config, scripts=scripts, cache=cache)


def _build_router(models: ResolvedModels, config: GatewayConfig) -> Any:
    providers.prepare_litellm()
    from litellm.router import Router
    from litellm.utils import custom_llm_setup

    custom_llm_setup()  # type: ignore[no-untyped-call]
    settings: dict[str, Any] = {"num_retries": config.num_retries, "timeout": config.timeout_s}
    settings.update(models.router_settings)
    accepted = set(inspect.signature(Router.__init__).parameters) - {"self", "model_list"}
    unknown = sorted(set(settings) - accepted)
    if unknown:
        import difflib

        hints = [
            f"{name} (did you mean {', '.join(difflib.get_close_matches(name, accepted, 2))}?)"
            for name in unknown
        ]
        raise ModelConfigError(
            f"unknown router_settings: {'; '.join(hints)}. See LiteLLM's Router documentation "
            "for the accepted keys."
        )
    try:
        return Router(model_list=models.model_list, **settings)
    except Exception as exc:
        raise ModelConfigError(
            f"LiteLLM rejected the model configuration: {exc}. Check [models].model_list "
            "and router_settings (LiteLLM's proxy config format)."
        ) from exc


def _router_kwargs(group: str, request: ChatRequest, token: str, *, stream: bool) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    for message in request.messages:
        data = message.model_dump(exclude_none=True, exclude={"tool_calls"})
        if message.tool_calls:
            data["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in message.tool_calls
            ]
        messages.append(data)
    kwargs: dict[str, Any] = {
        "model": group,
        "messages": messages,
        "metadata": {**request.metadata, providers.GATEWAY_KEY: token},
    }
    if request.tools:
        kwargs["tools"] = [
            {"type": "function", "function": tool.model_dump()} for tool in request.tools
        ]
        choice = request.tool_choice
        if choice in ("auto", "required", "none"):
            kwargs["tool_choice"] = choice
        elif choice is not None:
            kwargs["tool_choice"] = {"type": "function", "function": {"name": choice}}
    if request.response_schema is not None:
        kwargs["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "response", "schema": request.response_schema},
        }
    if request.temperature is not None:
        kwargs["temperature"] = request.temperature
    if request.max_tokens is not None:
        kwargs["max_tokens"] = request.max_tokens
    if request.timeout_s is not None:
        kwargs["timeout"] = request.timeout_s
    if stream:
        kwargs["stream_options"] = {"include_usage": True}
    return kwargs


def _parse_response(raw: Any) -> ChatResponse:
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
        ),
    )


def _check_shape(response: ChatResponse, request: ChatRequest) -> None:
    """Raise :class:`MalformedOutput` when the answer breaks the request's contract."""
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


def _cost(model: str, usage: Usage) -> float:
    """Cost from LiteLLM's (local) cost map; zero for models it does not price."""
    if not model or usage.total_tokens == 0:
        return 0.0
    providers.prepare_litellm()
    import litellm

    try:
        prompt, completion = litellm.cost_per_token(
            model=model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
        )
    except Exception:  # LiteLLM raises a bare Exception for models it cannot price
        return 0.0
    return float(prompt + completion)
