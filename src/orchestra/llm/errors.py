"""Errors raised by the model gateway.

LiteLLM (and the OpenAI SDK beneath it) raise their own exception types; the
gateway translates them exactly once, in :func:`translate_litellm_error`, so
nothing above ``orchestra.llm`` ever sees a foreign exception. Every error
carries ``retryable``: whether running the same call again later could succeed.
Configuration errors are :class:`~orchestra.errors.UserMistake`, provider
failures :class:`~orchestra.errors.RuntimeFailure` (each with a stable ``code``).

Tree::

    LLMError                        anything the gateway raises
    ├── ModelConfigError            user mistake: bad model list, bad models.yaml
    │   ├── UnknownModel            alias not configured and not a provider string
    │   └── LocalModelUnavailable   the ``local`` extra is not installed
    ├── ProviderError               the model server failed (status, provider)
    │   ├── RateLimited             429; ``retry_after`` seconds when the server said
    │   ├── Timeout                 no answer within the timeout
    │   ├── ProviderUnavailable     refused connection, 5xx
    │   │   └── StreamInterrupted   a streamed answer broke off midway
    │   ├── AuthenticationFailed    401/403: wrong or missing API key
    │   ├── ContextWindowExceeded   prompt too long for the model
    │   └── MalformedOutput         answer broke the contract: structured output that
    │       │                       is not JSON / not the schema
    │       ├── MalformedToolCall   a tool call's arguments that are not a JSON object
    │       └── EmptyAnswer         neither text nor a tool call
    └── ScriptError                 a scripted model's script ran out or is invalid (tests)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from orchestra.errors import OrchestraError, RuntimeFailure, UserMistake

if TYPE_CHECKING:
    from orchestra.llm.types import Usage


class LLMError(OrchestraError):
    """Base class for every gateway error.

    ``usage`` is what the failed call still cost (tokens of refused answers,
    retries, fallbacks), when the gateway knows; usage records keep it.
    """

    retryable: bool = False
    usage: Usage | None = None
    deployment_id: str | None = None
    """The Router's id of the deployment that failed this try, when one was picked."""


class ModelConfigError(LLMError, UserMistake):
    """The model configuration is wrong. Never retryable: the user must change it."""

    code: ClassVar[str] = "model_config"


class UnknownModel(ModelConfigError):
    """A request named a model that is neither an alias nor ``provider/model``."""

    def __init__(self, model: str, known: Iterable[str], providers: Iterable[str] = ()) -> None:
        self.model = model
        self.known = sorted(set(known))
        self.providers = sorted(set(providers))
        close = difflib.get_close_matches(model, self.known, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        ours = (
            f" Orchestra's model providers: {', '.join(f'{p}/…' for p in self.providers)}."
            if self.providers
            else ""
        )
        super().__init__(
            f"unknown model {model!r}.{hint} Configured aliases: {', '.join(self.known) or 'none'}.{ours} "
            "Add it to [models].model_list (or models.yaml), or name a LiteLLM model string "
            "such as 'openai/gpt-4o-mini' or 'ollama/llama3'; `orchestra models list` shows "
            "what is configured."
        )


class LocalModelUnavailable(ModelConfigError):
    """The embedded local model cannot run here (extra missing, model file broken)."""


class ProviderError(LLMError, RuntimeFailure):
    """A model server or hosted API failed the call.

    ``status`` is the HTTP status when there was one; ``provider`` the LiteLLM
    provider name (``openai``, ``hosted_vllm``, ``scripted`` ...).
    """

    code: ClassVar[str] = "provider_failed"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        provider: str = "",
        model: str = "",
        retryable: bool | None = None,
    ) -> None:
        self.status = status
        self.provider = provider
        self.model = model
        if retryable is not None:
            self.retryable = retryable
        super().__init__(message)


class RateLimited(ProviderError):
    """HTTP 429 or a deployment's rpm/tpm limit. Retry after ``retry_after`` seconds."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]


class Timeout(ProviderError):
    """The model did not answer within ``timeout_s``. Raise the timeout or use a faster model."""

    retryable = True


class ProviderUnavailable(ProviderError):
    """Connection refused or a 5xx answer: the server is down or overloaded."""

    retryable = True


class StreamInterrupted(ProviderUnavailable):
    """A streamed answer broke off after it started (connection lost, no finish reason).

    The Router cannot retry what it already handed over; the gateway asks again
    (then the fallback aliases) and tells the caller the streamed tokens are void.
    """


class AuthenticationFailed(ProviderError):
    """The provider rejected the credentials (401/403)."""

    retryable = False


class ContextWindowExceeded(ProviderError):
    """The prompt does not fit the model's context window. Shorten it or pick a larger model."""

    retryable = False


class MalformedOutput(ProviderError):
    """The model answered, but not in the required shape (JSON schema, tool-call JSON).

    Retryable: a sampled model may well get it right the next time.
    """

    retryable = True

    def __init__(self, message: str, *, raw: str = "", **kw: object) -> None:
        self.raw = raw
        super().__init__(message, **kw)  # type: ignore[arg-type]


class MalformedToolCall(MalformedOutput):
    """A tool call's ``arguments`` are not a JSON object."""


class EmptyAnswer(MalformedOutput):
    """The model answered with neither text nor a tool call (a server that ended the
    answer before writing anything). Another deployment or a fallback may answer."""

    code: ClassVar[str] = "empty_answer"


class ScriptError(LLMError, UserMistake):
    """A scripted model was misused: unknown script name, script exhausted, bad step."""

    code: ClassVar[str] = "script_error"
