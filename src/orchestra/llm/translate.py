"""The one place where LiteLLM's exceptions become ours.

LiteLLM maps every provider's failures onto OpenAI-style exception classes;
this module maps those onto :mod:`orchestra.llm.errors`, keeping the status,
the provider and the server's ``Retry-After``. LiteLLM is imported lazily
because importing it takes seconds.
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestra.llm.errors import (
    AuthenticationFailed,
    ContextWindowExceeded,
    LLMError,
    MalformedOutput,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    Timeout,
)

_WHAT_NEXT = {
    RateLimited: "wait and retry, lower the request rate, or add a deployment/fallback to the alias",
    Timeout: "raise timeout_s for this agent or [models].timeout_s, or add a fallback alias",
    ProviderUnavailable: "check the model server is running (`orchestra models list` shows health) "
    "or add a fallback alias",
    AuthenticationFailed: "set the provider's API key (e.g. OPENAI_API_KEY) in the environment "
    "or in the deployment's litellm_params.api_key",
    ContextWindowExceeded: "shorten the prompt or input, or route this agent to a model with a "
    "larger context window (router_settings.context_window_fallbacks)",
    MalformedOutput: "retry the step or use a stronger model",
}


def _retry_after(exc: BaseException) -> float | None:
    headers: object = getattr(exc, "litellm_response_headers", None)
    if headers is None:
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
    if not isinstance(headers, Mapping):
        try:
            headers = dict(headers)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return None
    assert isinstance(headers, Mapping)
    for key in ("retry-after", "Retry-After"):
        value = headers.get(key)
        if value is not None:
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


def translate_litellm_error(exc: BaseException, *, model: str) -> LLMError:
    """Return our error for ``exc`` (raise it ``from exc``). Our own errors pass through."""
    if isinstance(exc, LLMError):
        return exc
    from litellm import exceptions as lx
    from litellm.types.router import RouterRateLimitError

    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    provider = str(getattr(exc, "llm_provider", "") or "")
    text = str(getattr(exc, "message", "") or exc)
    cls: type[ProviderError]
    kwargs: dict[str, object] = {}
    if isinstance(exc, lx.ContextWindowExceededError):
        cls = ContextWindowExceeded
    elif isinstance(exc, lx.RateLimitError):
        cls = RateLimited
        kwargs["retry_after"] = _retry_after(exc)
    elif isinstance(exc, RouterRateLimitError):
        cls = RateLimited
        kwargs["retry_after"] = float(exc.cooldown_time)
        status = 429
    elif isinstance(exc, lx.Timeout):
        cls = Timeout
    elif isinstance(exc, lx.AuthenticationError | lx.PermissionDeniedError):
        cls = AuthenticationFailed
    elif isinstance(exc, lx.JSONSchemaValidationError):
        cls = MalformedOutput
    elif isinstance(
        exc,
        lx.APIConnectionError
        | lx.ServiceUnavailableError
        | lx.InternalServerError
        | lx.BadGatewayError,
    ) or (status is not None and status >= 500):
        cls = ProviderUnavailable
    else:
        cls = ProviderError
    return failure(cls, text, model=model, status=status, provider=provider, **kwargs)


def failure(
    cls: type[ProviderError],
    text: str,
    *,
    model: str,
    status: int | None = None,
    provider: str = "",
    **kwargs: object,
) -> ProviderError:
    """Our ``cls`` error for a server's failure ``text``, saying what to do next: the one
    message format of every provider failure, whichever client saw it."""
    what_next = _WHAT_NEXT.get(cls, "check the model configuration with `orchestra models test`")
    status_text = f" (HTTP {status})" if status is not None else ""
    message = f"model {model!r} failed{status_text}: {text.strip()[:500]}. Next: {what_next}."
    return cls(message, status=status, provider=provider, model=model, **kwargs)  # type: ignore[arg-type]
