"""The model gateway: one ``chat`` call, routed as LiteLLM's Router would.

:class:`Gateway` turns a :class:`~orchestra.llm.types.ChatRequest` into one
try after another (:mod:`orchestra.llm.attempts`: retries, fallbacks,
cool-downs), each on a deployment of the alias, streams tokens to the caller,
checks the answer's shape (tool-call JSON, response schema), answers from the
response cache when asked, and reports what the call cost in
:class:`~orchestra.llm.types.Usage`. LiteLLM's exceptions are translated into
:mod:`orchestra.llm.errors` here and nowhere else.

Each try is made the cheapest way its deployment allows (:mod:`orchestra.llm.routes`):
an in-process model (scripted, the embedded local model) is called directly, an
OpenAI-compatible server with the ``openai`` SDK (:mod:`orchestra.llm.openai_compat`),
anything else through ``Router.acompletion``. LiteLLM's per-call machinery (its
logging object and callbacks, cost lookups, usage counters, response rebuilt into
its own types) cost 5–9 ms of CPU a call, replaced here by Orchestra's own usage
records; the Router still picks the deployment of a group with several.

A request names an alias, ``default`` (the configured default alias), or a raw
LiteLLM model string (``openai/gpt-4o-mini``): a provider string that is not an
alias gets a direct route on first use.

Build one with :func:`build_gateway`, pass it down, and ``await close()`` it.
Building one does not import LiteLLM (seconds): the Router is built when a call
(or :meth:`Gateway.ready`) needs it, after :func:`~orchestra.llm.providers.start_import`
finished; a configuration of in-process models and lone OpenAI-compatible servers
never imports it.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
import time
from typing import Any

from orchestra.llm import providers, routes
from orchestra.llm.answers import consume_chunks, consume_stream, parse_response
from orchestra.llm.attempts import CallAttempts
from orchestra.llm.cache import ResponseCache, build_cache, cache_key
from orchestra.llm.config import INLINE_ROUTER_SETTINGS, GatewayConfig, ResolvedModels
from orchestra.llm.errors import (
    LLMError,
    MalformedOutput,
    ModelConfigError,
    ProviderUnavailable,
    UnknownModel,
)
from orchestra.llm.openai_compat import OpenAIClients, translate_openai_error
from orchestra.llm.pricing import Prices
from orchestra.llm.providers import InProcessCall, InProcessModel, ModelProvider
from orchestra.llm.routes import Plan, Target
from orchestra.llm.scripted import ScriptRegistry
from orchestra.llm.translate import failure, translate_litellm_error
from orchestra.llm.types import (
    ChatRequest,
    ChatResponse,
    RestartCallback,
    TokenCallback,
    ToolCall,
    Usage,
)
from orchestra.plugins import Registry

DEFAULT_ALIAS = "default"


class Gateway:
    """Sends chat requests to the configured models. Implements ``ModelGateway``."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        scripts: ScriptRegistry | None = None,
        cache: ResponseCache | None = None,
        model_providers: Registry[ModelProvider] | None = None,
    ) -> None:
        self.config = config
        self.models: ResolvedModels = config.resolved()
        self.scripts = scripts or ScriptRegistry()
        self._context = providers.GatewayContext(scripts=self.scripts, local=config.local)
        self._provider_registry = model_providers or providers.model_provider_registry()
        self._loaded: dict[str, ModelProvider] | None = None
        self._in_process: dict[str, InProcessModel] = {}
        self._cache = cache
        self._built_router: Any = None
        self._labels: dict[str, str] = {}
        self._fallbacks: dict[tuple[str, str], list[str]] = {}
        self._groups: dict[str, list[dict[str, Any]]] = {}
        for deployment in self.models.model_list:
            self._groups.setdefault(str(deployment["model_name"]), []).append(deployment)
        self._added: list[dict[str, Any]] = []
        """Direct routes of provider strings, added on first use."""
        self._plans: dict[str, Plan] = {}
        self._targets: dict[str, Target] = {}
        self._clients = OpenAIClients()
        self._prices = Prices()
        self._ready = False
        configured = self.models.router_settings.get("timeout")
        self._timeout: float | None = (
            float(configured) if isinstance(configured, int | float) else config.timeout_s
        )

    @property
    def _providers(self) -> dict[str, ModelProvider]:
        """Every provider that loads, by name, and the in-process ones (no LiteLLM import)."""
        if self._loaded is None:
            self._loaded = providers.load_providers(self._provider_registry)
            self._in_process = providers.in_process_models(self._loaded)
        return self._loaded

    @property
    def router(self) -> Any:
        """The underlying ``litellm.Router`` (for diagnostics; do not call it directly)."""
        return self._router

    @property
    def _router(self) -> Any:
        """The Router, built on first use (imports LiteLLM if :meth:`ready` did not)."""
        if self._built_router is None:
            providers.install(self._context, self._provider_registry)
            models = self.models.model_copy(
                update={"model_list": [*self.models.model_list, *self._added]}
            )
            self._built_router = _build_router(models, self.config)
        return self._built_router

    def _needs_router(self) -> bool:
        self._providers  # noqa: B018 - loads them
        return routes.needs_router(self._groups, self._in_process, self.models.router_settings)

    async def ready(self) -> None:
        """Make the gateway ready for its first call. When the configuration needs
        LiteLLM's Router, wait off the event loop for LiteLLM's import and build it
        (which checks ``router_settings``): the loop keeps serving (e.g. ``/healthz``)
        meanwhile. A configuration of in-process models and lone OpenAI-compatible
        servers needs no Router, and LiteLLM is not imported."""
        if self._built_router is None and self._needs_router():
            await asyncio.wrap_future(providers.start_import())
            self._router  # noqa: B018 - builds it
        if self._calls_openai() and "openai" not in sys.modules:
            await asyncio.to_thread(importlib.import_module, "openai")  # seconds, off the loop
        self._ready = True

    def _calls_openai(self) -> bool:
        """Whether some deployment is called with the ``openai`` SDK."""
        return any(
            routes.kind_of(deployment, self._in_process) == "openai"
            for group in self._groups.values()
            for deployment in group
        )

    @property
    def aliases(self) -> list[str]:
        return self.models.aliases

    def resolve(self, model: str) -> str:
        """The Router model group for ``model``; adds a direct route for provider strings."""
        if model == DEFAULT_ALIAS and DEFAULT_ALIAS not in self._groups:
            model = self.models.default
        if model in self._groups:
            return model
        provider = model.split("/", 1)[0] if "/" in model else ""
        known = provider in self._providers
        if provider and not known:
            providers.prepare_litellm()
            import litellm

            known = provider in litellm.provider_list
        if not known:
            raise UnknownModel(model, self.models.aliases, providers=self._providers)
        if provider in self._providers:
            self._providers[provider].check_model(model.split("/", 1)[1], self._context)
        route = {"model_name": model, "litellm_params": {"model": model}}
        self._groups[model] = [route]
        self._added.append(route)
        if self._built_router is not None:
            from litellm.types.router import Deployment, LiteLLM_Params

            self._router.add_deployment(
                Deployment(model_name=model, litellm_params=LiteLLM_Params(model=model))
            )
        return model

    def _plan(self, group: str) -> Plan:
        plan = self._plans.get(group)
        if plan is None:
            self._providers  # noqa: B018 - loads them
            plan = routes.plan_of(
                group, self._groups.get(group, []), self._in_process, self.models.router_settings
            )
            if plan.single is not None:
                self._labels[plan.single.id] = plan.single.label
            self._plans[group] = plan
        return plan

    async def chat(
        self,
        request: ChatRequest,
        on_token: TokenCallback | None = None,
        on_restart: RestartCallback | None = None,
    ) -> ChatResponse:
        """Answer ``request``; stream text deltas to ``on_token`` if given.

        A failed try (server down, timeout, a stream cut short, an empty or
        malformed answer) is tried again on the alias's other deployments, then
        on each fallback alias (:mod:`orchestra.llm.attempts`); ``usage`` lists
        every failed try. When tokens already went to ``on_token``, ``on_restart``
        hears first that they are void. Raises an
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
        if not self._ready:
            await self.ready()
        started = time.perf_counter()
        attempts = CallAttempts(self, request, on_token, on_restart)
        try:
            response = await attempts.run(self.resolve(request.model))
        except LLMError as exc:
            exc.usage = attempts.spent.model_copy(
                update={"latency_s": time.perf_counter() - started}
            )
            raise
        response.usage = attempts.merged(response.usage, time.perf_counter() - started)
        if cache is not None and key is not None:
            await cache.set(key, response)
        return response

    @property
    def num_retries(self) -> int:
        """Tries per alias after the first: ``router_settings.num_retries``, else
        ``[models].num_retries``."""
        configured = self.models.router_settings.get("num_retries")
        return int(configured) if configured is not None else self.config.num_retries

    def fallbacks_of(self, group: str, kind: str = "fallbacks") -> list[str]:
        """The aliases ``router_settings.<kind>`` names for ``group``, in order; for
        ``fallbacks``, ``default_fallbacks`` when it names none."""
        chain = self._fallbacks.get((group, kind))
        if chain is None:
            found: list[str] = []
            for entry in self.models.router_settings.get(kind) or ():
                if isinstance(entry, dict) and isinstance(entry.get(group), list):
                    found.extend(str(alias) for alias in entry[group])
            if not found and kind == "fallbacks":
                found = [str(a) for a in self.models.router_settings.get("default_fallbacks") or ()]
            chain = [alias for alias in dict.fromkeys(found) if alias != group]
            self._fallbacks[(group, kind)] = chain
        return chain

    def deployment_count(self, group: str) -> int:
        """How many deployments serve ``group`` (1 for a direct provider route)."""
        return max(1, len(self._groups.get(group) or ()))

    def cool_down(self, group: str, error: LLMError) -> None:
        """Put the deployment that failed in the Router's cool-down, so no try or call
        picks it for ``cooldown_time`` seconds, when ``group`` has other deployments.

        LiteLLM cools a deployment down after 429s and a high failure rate, but never
        for a refused connection: a dead server kept getting half of the tries.
        A malformed answer is the model's fault, not the server's: no cool-down.
        """
        if error.deployment_id is None or isinstance(error, MalformedOutput):
            return
        if self.deployment_count(group) < 2:
            return
        status = getattr(error, "status", None)
        self._router.cooldown_cache.add_deployment_to_cooldown(
            model_id=error.deployment_id,
            original_exception=error,
            exception_status=status if isinstance(status, int) else 503,
            cooldown_time=self._router.cooldown_time,
        )

    async def call_once(
        self, group: str, request: ChatRequest, on_token: TokenCallback | None
    ) -> tuple[ChatResponse, str]:
        """One try on a deployment of ``group`` (the Router picks it when there are
        several), without retries or fallbacks. Returns the answer and the id of the
        deployment; an error carries that id in ``deployment_id``."""
        plan = self._plan(group)
        if not plan.direct:
            return await self._call_litellm(group, request, on_token)
        target = plan.single or await self._pick(group)
        try:
            if target.kind == "in_process":
                response = await self._call_in_process(target, request, on_token)
            else:
                response = await self._call_openai(target, request, on_token)
        except LLMError as exc:
            exc.deployment_id = target.id
            raise
        usage = response.usage
        usage.model = target.model
        usage.deployment = target.label
        if target.kind == "openai" and not usage.cost_usd:  # else the provider reported it
            usage.cost_usd = self._prices.cost(
                target.model, usage.prompt_tokens, usage.completion_tokens
            )
        return response, target.id

    async def _pick(self, group: str) -> Target:
        """The deployment the Router picks for one try of ``group`` (order, weights,
        cool-downs); an error when it has none to offer (every one cooling down)."""
        try:
            deployment = await self._router.async_get_available_deployment(
                model=group, request_kwargs={}
            )
        except Exception as exc:
            raise translate_litellm_error(exc, model=group) from exc
        model_id = str((deployment.get("model_info") or {}).get("id") or "")
        target = self._targets.get(model_id)
        if target is None:
            # The Router's copy of a deployment carries its own defaults; the gateway's
            # plan is made from the configured entry, found by position in the group.
            known = self._router.get_model_list(model_name=group) or []
            for entry, routed in zip(self._groups.get(group, []), known, strict=False):
                routed_id = str((routed.get("model_info") or {}).get("id") or "")
                made = routes.target_of(group, entry, self._in_process, routed_id)
                self._targets[routed_id] = made
                self._labels[routed_id] = made.label
            target = self._targets.get(model_id)
        if target is None or target.kind == "litellm":
            raise ProviderUnavailable(f"the Router picked an unknown deployment of {group!r}")
        return target

    async def _call_in_process(
        self, target: Target, request: ChatRequest, on_token: TokenCallback | None
    ) -> ChatResponse:
        """Ask an in-process model directly: no LiteLLM, no HTTP-shaped objects."""
        model = self._in_process[target.provider]
        call = InProcessCall(target.name, _messages(request), _params(request), self._context)
        try:
            if request.stream or on_token is not None:
                return await consume_chunks(model.stream(call), request, on_token)
            answer = await model.complete(call)
        except LLMError:
            raise
        except Exception as exc:  # a provider's bug fails the try, as LiteLLM made it
            raise failure(
                ProviderUnavailable,
                f"{type(exc).__name__}: {exc}",
                model=request.model,
                provider=target.provider,
            ) from exc
        return ChatResponse(
            content=answer.content,
            tool_calls=[
                ToolCall(
                    id=str(c.get("id") or ""),
                    name=str(c["function"].get("name") or ""),
                    arguments=str(c["function"].get("arguments") or ""),
                )
                for c in answer.tool_calls
            ],
            finish_reason=answer.finish_reason,
            usage=Usage(
                prompt_tokens=answer.prompt_tokens, completion_tokens=answer.completion_tokens
            ),
        )

    async def _call_openai(
        self, target: Target, request: ChatRequest, on_token: TokenCallback | None
    ) -> ChatResponse:
        """Ask an OpenAI-compatible server with the ``openai`` SDK's async client."""
        route = target.openai
        assert route is not None
        stream = request.stream or on_token is not None
        kwargs: dict[str, Any] = {
            "model": route.model,
            "messages": _messages(request),
            **_params(request),
            "timeout": request.timeout_s or route.timeout or self._timeout,
        }
        if stream:
            kwargs["stream"] = True
            kwargs["stream_options"] = {"include_usage": True}
        provider = target.provider

        def translate(exc: BaseException) -> LLMError:
            return translate_openai_error(exc, model=request.model, provider=provider)

        client = self._clients.client(route)
        try:
            raw = await client.chat.completions.create(**kwargs)
        except Exception as exc:
            raise translate(exc) from exc
        if not stream:
            return parse_response(raw)
        try:
            return await consume_stream(raw, request, on_token, translate=translate)
        finally:
            await raw.close()

    async def _call_litellm(
        self, group: str, request: ChatRequest, on_token: TokenCallback | None
    ) -> tuple[ChatResponse, str]:
        """One try through ``Router.acompletion``, for what only LiteLLM can call."""
        stream = request.stream or on_token is not None
        kwargs = _router_kwargs(group, request, self._context.token, stream=stream)
        metadata: dict[str, Any] = kwargs["metadata"]
        try:
            raw = await self._router.acompletion(
                **kwargs, stream=stream, num_retries=0, disable_fallbacks=True
            )
        except Exception as exc:
            error = translate_litellm_error(exc, model=request.model)
            error.deployment_id = getattr(exc, "failed_deployment_id", None) or _picked(metadata)
            raise error from exc
        hidden = getattr(raw, "_hidden_params", None) or {}
        deployment_id = str(hidden.get("model_id") or "")
        try:
            if stream:
                response = await consume_stream(raw, request, on_token)
            else:
                response = parse_response(raw)
        except LLMError as exc:
            exc.deployment_id = deployment_id or None
            raise
        hidden = getattr(raw, "_hidden_params", None) or hidden
        response.usage = self._usage(hidden, response.usage)
        return response, deployment_id

    def _usage(self, hidden: dict[str, Any], usage: Usage) -> Usage:
        model = str(hidden.get("litellm_model_name") or "")
        cost = hidden.get("response_cost")
        if cost is None:
            cost = self._prices.cost(model, usage.prompt_tokens, usage.completion_tokens)
        headers: dict[str, Any] = hidden.get("additional_headers") or {}
        return usage.model_copy(
            update={
                "cost_usd": float(cost or 0.0),
                "model": model,
                "deployment": self.deployment_label(str(hidden.get("model_id") or ""))
                or str(headers.get("x-litellm-model-group") or ""),
            }
        )

    def deployment_label(self, model_id: str | None) -> str:
        """A readable name for a deployment: ``alias[label or model@api_base]``; "" when
        the Router knows no deployment by that id."""
        if not model_id:
            return ""
        if model_id in self._labels:
            return self._labels[model_id]
        if self._built_router is None:
            return ""
        deployment = self._router.get_deployment(model_id=model_id)
        if deployment is None:
            return ""
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
        await self._clients.close()
        if self._built_router is not None:
            self._built_router.discard()


def build_gateway(
    config: GatewayConfig | None = None,
    *,
    scripts: ScriptRegistry | None = None,
    model_providers: Registry[ModelProvider] | None = None,
) -> Gateway:
    """A gateway for ``config`` (defaults: local model, disk cache, retry once).

    ``model_providers`` defaults to every installed ``orchestra.models`` entry point.
    """
    config = config or GatewayConfig()
    cache = build_cache(config.cache, directory=config.cache_dir, redis_url=config.redis_url)
    return Gateway(config, scripts=scripts, cache=cache, model_providers=model_providers)


def _build_router(models: ResolvedModels, config: GatewayConfig) -> Any:
    providers.prepare_litellm()
    from litellm.router import Router
    from litellm.utils import custom_llm_setup

    custom_llm_setup()  # type: ignore[no-untyped-call]
    # The gateway cools failed deployments down itself (``cool_down``, for every failure
    # with a deployment, refused connections included). LiteLLM's own handler adds little
    # and fires its callback with a bare ``create_task`` from a logging thread, where the
    # coroutine dies unawaited; ``router_settings`` can still turn it back on.
    settings: dict[str, Any] = {
        "num_retries": config.num_retries,
        "timeout": config.timeout_s,
        "disable_cooldowns": True,
    }
    settings.update(models.router_settings)
    accepted = set(inspect.signature(Router.__init__).parameters) - {"self", "model_list"}
    unknown = sorted(set(settings) - accepted)
    if unknown:
        problems = [
            f"{models.origins.get(name, INLINE_ROUTER_SETTINGS)}: unknown setting {name!r}"
            f"{_suggestion(name, accepted)}"
            for name in unknown
        ]
        raise ModelConfigError(
            f"{'; '.join(problems)}. It is not a LiteLLM Router setting; see LiteLLM's "
            "Router documentation for the accepted keys."
        )
    try:
        return Router(model_list=models.model_list, **settings)
    except Exception as exc:
        raise ModelConfigError(
            f"LiteLLM rejected the model configuration: {exc}. Check [models].model_list "
            "and router_settings (LiteLLM's proxy config format)."
        ) from exc


def _suggestion(name: str, accepted: set[str]) -> str:
    """``; did you mean 'x'?`` for the closest accepted keys, else ``""`` (never an empty
    "did you mean"). Case and separators are ignored: ``Routing-Strategy`` finds it too."""
    import difflib

    folded = {key.lower().replace("-", "_"): key for key in accepted}
    wanted = name.lower().replace("-", "_")
    close = difflib.get_close_matches(wanted, list(folded), n=2, cutoff=0.6)
    if not close:
        words = set(wanted.split("_")) - {""}
        close = sorted(key for key in folded if words and words <= set(key.split("_")))[:2]
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(folded[key]) for key in close) + "?"


def _picked(metadata: dict[str, Any]) -> str | None:
    """The id of the deployment the Router picked for a try, from the request metadata it
    fills in (``model_info.id``)."""
    info = metadata.get("model_info")
    picked = info.get("id") if isinstance(info, dict) else None
    return str(picked) if picked else None


def _messages(request: ChatRequest) -> list[dict[str, Any]]:
    """The request's messages in OpenAI's chat format."""
    messages: list[dict[str, Any]] = []
    for message in request.messages:
        # By hand, not model_dump (several times slower, on every call of every step).
        data: dict[str, Any] = {"role": message.role}
        if message.content is not None:
            data["content"] = message.content
        if message.tool_call_id is not None:
            data["tool_call_id"] = message.tool_call_id
        if message.name is not None:
            data["name"] = message.name
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
    return messages


def _params(request: ChatRequest) -> dict[str, Any]:
    """The request's options by their OpenAI names, those it sets only."""
    kwargs: dict[str, Any] = {}
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
    return kwargs


def _router_kwargs(group: str, request: ChatRequest, token: str, *, stream: bool) -> dict[str, Any]:
    """The keyword arguments of ``Router.acompletion`` for one try of ``request``."""
    kwargs: dict[str, Any] = {
        "model": group,
        "messages": _messages(request),
        "metadata": {**request.metadata, providers.GATEWAY_KEY: token},
        **_params(request),
    }
    if request.timeout_s is not None:
        kwargs["timeout"] = request.timeout_s
    if stream:
        kwargs["stream_options"] = {"include_usage": True}
    return kwargs
