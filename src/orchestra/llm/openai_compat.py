"""Calls to OpenAI-compatible servers with the ``openai`` SDK's async client, not LiteLLM.

vLLM, llama.cpp's server, LM Studio, OpenRouter and OpenAI itself speak the
same chat-completions API. LiteLLM's ``acompletion`` wraps each call in a
logging object, callbacks, a response rebuilt into its own types and a cost
lookup: about as much CPU as the SDK's own call (``benchmarks/gateway.py``
measured the gateway at 2.2x the SDK). The gateway sends such deployments'
calls with the SDK instead (:func:`openai_route`), under the same routing
(the Router still picks the deployment of a group with several), retries,
fallbacks, cool-downs and usage records. A deployment whose ``litellm_params``
carry anything else (``rpm``, ``tpm``, ``api_version``, LiteLLM-only options)
stays on LiteLLM's path, which knows what those mean.

The SDK's exceptions are translated here, to the same errors and messages as
LiteLLM's through :func:`orchestra.llm.translate.failure`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestra.llm.errors import (
    AuthenticationFailed,
    ContextWindowExceeded,
    LLMError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    Timeout,
)
from orchestra.llm.translate import failure

if TYPE_CHECKING:
    from openai import AsyncOpenAI


@dataclass(frozen=True, slots=True)
class _Provider:
    base_env: tuple[str, ...]
    key_env: tuple[str, ...]
    default_base: str | None
    default_key: str | None


PROVIDERS: dict[str, _Provider] = {
    "openai": _Provider(
        ("OPENAI_BASE_URL", "OPENAI_API_BASE"),
        ("OPENAI_API_KEY",),
        "https://api.openai.com/v1",
        None,
    ),
    "hosted_vllm": _Provider(
        ("HOSTED_VLLM_API_BASE",), ("HOSTED_VLLM_API_KEY",), None, "fake-api-key"
    ),
    "openrouter": _Provider(
        ("OPENROUTER_API_BASE",), ("OPENROUTER_API_KEY",), "https://openrouter.ai/api/v1", None
    ),
}
"""LiteLLM provider prefixes whose servers speak OpenAI's API as is, with LiteLLM's
environment variables and defaults for the address and key."""

DIRECT_PARAMS = frozenset(
    {"model", "api_base", "api_key", "organization", "timeout", "order", "weight"}
)
"""``litellm_params`` the direct path understands (``order`` and ``weight`` are the
Router's, for picking); a deployment with any other stays on LiteLLM's path."""

_CONTEXT_WINDOW = (
    "context_length_exceeded",
    "maximum context length",
    "exceed context limit",
    "is longer than the model's context length",
    "exceeds the available context size",
)


@dataclass(frozen=True, slots=True)
class OpenAIRoute:
    """Where a deployment's calls go: the server, the key, the model name it knows."""

    base_url: str
    api_key: str
    model: str
    organization: str | None = None
    timeout: float | None = None


def openai_route(params: Mapping[str, Any]) -> OpenAIRoute | None:
    """The direct route of a deployment's ``litellm_params``, or None when LiteLLM must
    make its calls (another provider, or options only LiteLLM knows)."""
    model = str(params.get("model") or "")
    provider, _, name = model.partition("/")
    spec = PROVIDERS.get(provider)
    if spec is None or not name or not set(params) <= DIRECT_PARAMS:
        return None
    base = _value(params.get("api_base")) or _env(spec.base_env) or spec.default_base
    key = _value(params.get("api_key")) or _env(spec.key_env) or spec.default_key
    if not base:
        return None  # LiteLLM's error says what is missing
    timeout = params.get("timeout")
    return OpenAIRoute(
        base_url=base,
        api_key=key or "",
        model=name,
        organization=_value(params.get("organization")),
        timeout=float(timeout) if isinstance(timeout, int | float) else None,
    )


def _value(value: Any) -> str | None:
    """A parameter, with LiteLLM's ``os.environ/NAME`` references read from the environment."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("os.environ/"):
        return os.environ.get(value.removeprefix("os.environ/")) or None
    return value


def _env(names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


class OpenAIClients:
    """One ``AsyncOpenAI`` per server and key, with its connection pool, for the gateway's
    life. The SDK's own retries are off: the gateway makes every try itself."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str, str | None], AsyncOpenAI] = {}

    def client(self, route: OpenAIRoute) -> AsyncOpenAI:
        key = (route.base_url, route.api_key, route.organization)
        client = self._clients.get(key)
        if client is None:
            from openai import AsyncOpenAI

            client = AsyncOpenAI(
                base_url=route.base_url,
                api_key=route.api_key or "none",
                organization=route.organization,
                max_retries=0,
            )
            self._clients[key] = client
        return client

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()


def translate_openai_error(exc: BaseException, *, model: str, provider: str) -> LLMError:
    """Our error for an ``openai`` SDK (or httpx) exception; our own errors pass through."""
    if isinstance(exc, LLMError):
        return exc
    import httpx
    import openai

    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    text = str(getattr(exc, "message", "") or exc)
    cls: type[ProviderError]
    extra: dict[str, object] = {}
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        cls = Timeout
    elif isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        cls = ProviderUnavailable
    elif isinstance(exc, openai.RateLimitError):
        cls = RateLimited
        extra["retry_after"] = _retry_after(exc.response.headers)
    elif isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        cls = AuthenticationFailed
    elif status == 400 and any(marker in text.lower() for marker in _CONTEXT_WINDOW):
        cls = ContextWindowExceeded
    elif status is not None and status >= 500:
        cls = ProviderUnavailable
    else:
        cls = ProviderError
    return failure(cls, text, model=model, status=status, provider=provider, **extra)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
