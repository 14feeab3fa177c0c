"""How Orchestra's model providers reach LiteLLM: the registry, the per-gateway context.

A model provider answers model strings ``<name>/<model>`` as a LiteLLM custom
provider. Providers are found through the ``orchestra.models`` entry points
(:func:`model_provider_registry`); Orchestra's own ``scripted`` and
``orchestra-local`` (:mod:`orchestra.llm.builtin_providers`) are declared in
``pyproject.toml`` like a plugin's.

LiteLLM keeps custom providers in a process-wide list
(``litellm.custom_provider_map``), but each gateway has its own scripts and
local-model settings. So each provider's handler is installed once per process,
by the first gateway whose registry has it, and every call names its gateway
through request metadata (:data:`GATEWAY_KEY`); the handler looks that
gateway's context up in a weak registry that forgets gateways once they are gone.

A provider may also answer inside this process without LiteLLM: one with an
``in_process()`` method returning an :class:`InProcessModel` is called by the
gateway directly, with an :class:`InProcessCall` that names the gateway's
context (:func:`in_process_models`); Orchestra's own two do. LiteLLM's per-call
machinery (its logging object, callbacks, ``ModelResponse`` building, cost
lookup) costs milliseconds per call, far more than a scripted answer or the
bookkeeping of a local one.

This module also makes LiteLLM offline and quiet: it must be imported through
:func:`prepare_litellm`, which sets ``LITELLM_LOCAL_MODEL_COST_MAP`` first so
LiteLLM never fetches its cost map from the internet, and turns telemetry off.
Importing LiteLLM takes seconds, so commands that may call a model start it early
in a background thread with :func:`start_import` and go on with their start-up;
the gateway waits for it only when its first call needs it.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
import warnings
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard

from orchestra.llm.config import LocalModelConfig
from orchestra.llm.errors import ScriptError
from orchestra.llm.scripted import ScriptRegistry
from orchestra.plugins import Registry

if TYPE_CHECKING:
    from litellm.llms.custom_llm import CustomLLM

    from orchestra.llm.handler_replies import Answer

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "orchestra.models"
GATEWAY_KEY = "orchestra_gateway"


@dataclass(eq=False)
class GatewayContext:
    """What Orchestra's providers need to know about the gateway making a call."""

    scripts: ScriptRegistry
    local: LocalModelConfig
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


ContextLookup = Callable[[dict[str, Any] | None], GatewayContext]
"""Finds the calling gateway's context from a call's ``litellm_params``."""


class ModelProvider(Protocol):
    """A LiteLLM custom provider Orchestra installs under its registered name."""

    def handler(self, context_for: ContextLookup) -> CustomLLM:
        """The LiteLLM handler, built once per process; ``context_for`` finds the caller's
        gateway context on each call."""
        ...

    def check_model(self, model: str, context: GatewayContext) -> None:
        """Raise a :class:`~orchestra.llm.errors.ModelConfigError` if ``<name>/<model>``
        cannot be answered, before a route to it is added (``model`` is without the prefix)."""
        ...


@dataclass(frozen=True, slots=True)
class InProcessCall:
    """One call of an in-process model, in OpenAI's chat format."""

    model: str
    """The model string without the provider prefix (``echo`` for ``scripted/echo``)."""
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    """``tools``, ``tool_choice``, ``response_format``, ``temperature``, ``max_tokens``
    when the request sets them (what LiteLLM hands a handler as ``optional_params``)."""
    context: GatewayContext


class InProcessModel(Protocol):
    """A model the gateway calls directly, in this process, without LiteLLM.

    Failures are raised as :mod:`orchestra.llm.errors` (a ``ProviderError`` for what a
    server would have failed with), not as LiteLLM's exceptions.
    """

    async def complete(self, call: InProcessCall) -> Answer:
        """The whole answer."""
        ...

    def stream(self, call: InProcessCall) -> AsyncIterator[dict[str, Any]]:
        """The answer as LiteLLM ``GenericStreamingChunk`` dicts (``text``, ``tool_use``,
        ``finish_reason``, ``usage``; :mod:`orchestra.llm.handler_replies` builds them)."""
        ...


def _is_provider(obj: object) -> TypeGuard[ModelProvider]:
    return callable(getattr(obj, "handler", None)) and callable(getattr(obj, "check_model", None))


def model_provider_registry(eps: Iterable[EntryPoint] | None = None) -> Registry[ModelProvider]:
    """Every model provider installed (``eps`` defaults to the ``orchestra.models`` entry points)."""
    return Registry(
        "model provider",
        ENTRY_POINT_GROUP,
        _is_provider,
        "an object with handler(context_for) and check_model(model, context)",
    ).add_entry_points(eps)


class _Installed:
    """The handlers and the weak gateway registry, created on first use."""

    def __init__(self) -> None:
        self.contexts: weakref.WeakValueDictionary[str, GatewayContext] = (
            weakref.WeakValueDictionary()
        )
        self.handlers: dict[str, CustomLLM] = {}

    def context_for(self, litellm_params: dict[str, Any] | None) -> GatewayContext:
        metadata = (litellm_params or {}).get("metadata") or {}
        token = metadata.get(GATEWAY_KEY)
        context = self.contexts.get(token) if isinstance(token, str) else None
        if context is None:
            raise ScriptError(
                "an Orchestra provider (scripted/…, orchestra-local/…) was called outside an "
                "Orchestra gateway; call it through Gateway.chat."
            )
        return context


_lock = threading.Lock()
_installed: list[_Installed] = []
_in_process: dict[tuple[str, int], InProcessModel] = {}
"""One in-process model per provider name and process (the local model's weights are
loaded once per process, whichever gateway asks)."""
_warmed: list[bool] = []
_importing: list[Future[None]] = []


def start_import() -> Future[None]:
    """Begin :func:`prepare_litellm` in a daemon thread (once per process); the future
    is done when LiteLLM is ready. A daemon thread, so a command that ends early does
    not wait for an import it no longer needs."""
    with _lock:
        if _importing:
            return _importing[0]
        future: Future[None] = Future()
        _importing.append(future)

    def work() -> None:
        try:
            prepare_litellm()
        except BaseException as error:  # handed to whoever waits for the model
            future.set_exception(error)
        else:
            future.set_result(None)

    threading.Thread(target=work, name="orchestra-import-litellm", daemon=True).start()
    return future


def prepare_litellm() -> None:
    """Import LiteLLM offline and quiet (no cost-map download, no telemetry, no banners).

    Call it before any ``import litellm``.
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_TELEMETRY", "False")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    # The Router logs every failed attempt at ERROR level; the gateway raises our own
    # error (or records the retry/fallback in Usage), so those lines are only noise.
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    # LiteLLM's OpenAI stream handler reads a deprecated pydantic attribute on every chunk;
    # the warning is LiteLLM's to fix, and would only repeat on each streamed call.
    warnings.filterwarnings(
        "ignore",
        message="Accessing the 'model_(computed_)?fields' attribute on the instance",
        category=DeprecationWarning,
    )
    if not _warmed:
        # LiteLLM's response models finish building on first use, and pydantic then warns
        # that a TypedDict uses ReadOnly (harmless). Build them once here, quietly, so the
        # warning does not surface mid-call (tests run with warnings as errors).
        from litellm.types.utils import Delta, Message, ModelResponse, ModelResponseStream

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*ReadOnly.*", category=UserWarning)
            Delta()
            Message()
            ModelResponse()
            ModelResponseStream()
        _warmed.append(True)


def install(context: GatewayContext, registry: Registry[ModelProvider]) -> dict[str, ModelProvider]:
    """Register this gateway's context, and with LiteLLM every provider in ``registry`` not
    installed yet; return the providers this gateway can use, by name.

    A provider that fails to load is logged and left out: one broken plugin must not
    take every model down.
    """
    prepare_litellm()
    import litellm

    loaded, problems = registry.load_all()
    for problem in problems:
        log.warning("model provider not loaded: %s", problem)
    with _lock:
        if not _installed:
            _installed.append(_Installed())
        state = _installed[0]
        new = {
            name: provider.handler(state.context_for)
            for name, provider in loaded.items()
            if name not in state.handlers
        }
        if new:
            state.handlers.update(new)
            litellm.custom_provider_map = [
                item for item in litellm.custom_provider_map if item["provider"] not in new
            ] + [{"provider": name, "custom_handler": h} for name, h in new.items()]
        state.contexts[context.token] = context
    return loaded


def load_providers(registry: Registry[ModelProvider]) -> dict[str, ModelProvider]:
    """Every provider of ``registry`` that loads, by name; LiteLLM is not imported. A
    provider that fails to load is logged and left out: one broken plugin must not take
    every model down."""
    loaded, problems = registry.load_all()
    for problem in problems:
        log.warning("model provider not loaded: %s", problem)
    return loaded


def in_process_models(loaded: dict[str, ModelProvider]) -> dict[str, InProcessModel]:
    """The providers of ``loaded`` that answer in-process (``in_process()``), by name, built
    once per process. The others are left to LiteLLM."""
    models: dict[str, InProcessModel] = {}
    with _lock:
        for name, provider in loaded.items():
            make = getattr(provider, "in_process", None)
            if not callable(make):
                continue
            key = (name, id(provider))
            if key not in _in_process:
                _in_process[key] = make()
            models[name] = _in_process[key]
    return models
