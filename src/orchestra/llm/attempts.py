"""The tries of one gateway call: each deployment of the alias, then each fallback alias.

The Router picks the deployment for every try (routing strategy, rpm/tpm
limits, cool-downs) but makes one try only: retries and fallbacks are run
here, so that every try is seen and recorded. LiteLLM's own retry loop does
not cool down a deployment that refuses connections and may pick it again
for the retry; its fallbacks then hide the failed tries (``retries: 0``).

Per alias, a call makes ``num_retries + 1`` tries, and at least one per
deployment. A deployment that failed (refused, 5xx, timeout, a stream cut
short) is put in the Router's cool-down when its alias has others, so the
next try, and the next calls, go to a healthy one until ``cooldown_time``
has passed. When every try of an alias failed, the next alias of
``router_settings.fallbacks`` (or ``default_fallbacks``) is asked; a prompt
too long for the context window goes to ``context_window_fallbacks``.

Every failed try becomes a :class:`~orchestra.llm.types.FailedAttempt` in the
call's usage (and a warning in the log); tokens of refused answers are added
to the call's usage, as they were paid for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from orchestra.llm.answers import check_shape
from orchestra.llm.errors import (
    AuthenticationFailed,
    ContextWindowExceeded,
    LLMError,
    MalformedOutput,
    ProviderError,
    RateLimited,
)
from orchestra.llm.types import (
    ChatRequest,
    ChatResponse,
    FailedAttempt,
    RestartCallback,
    StreamRestart,
    TokenCallback,
    Usage,
)

if TYPE_CHECKING:
    from orchestra.llm.gateway import Gateway

log = logging.getLogger(__name__)

MAX_RETRY_AFTER_S = 60.0
"""Longest ``Retry-After`` a call waits for before trying the same deployment again."""


class CallAttempts:
    """The tries of one :meth:`Gateway.chat` call, and what they cost."""

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
        """Tokens and cost of refused answers, every failed try, retries and fallbacks."""
        self.streamed = 0
        self.restarts = 0

    async def _emit(self, text: str) -> None:
        assert self.on_token is not None
        self.streamed += len(text)
        await self.on_token(text)

    async def run(self, group: str) -> ChatResponse:
        """The first good answer; raises the error that matters when no try gave one.

        That error is the last broken or malformed answer's when there was one (what
        sent the call past its first alias is what the caller must fix), else the
        last failure's.
        """
        gateway = self.gateway
        candidates = [group, *gateway.fallbacks_of(group)]
        index = 0
        last: LLMError | None = None
        bad_answer: MalformedOutput | None = None
        while index < len(candidates):
            if index > 0:
                self.spent.fallbacks += 1
            alias = gateway.resolve(candidates[index])
            tries = max(gateway.num_retries + 1, gateway.deployment_count(alias))
            for attempt in range(tries):
                if attempt > 0:
                    self.spent.retries += 1
                if last is not None:
                    await self._void_stream(last, alias)
                started = time.perf_counter()
                try:
                    response = await self._try(alias)
                except LLMError as exc:
                    self._record(alias, exc, time.perf_counter() - started)
                    last = exc
                    if isinstance(exc, MalformedOutput):
                        bad_answer = exc
                    if not isinstance(exc, ProviderError):
                        raise  # a script or configuration error: no try will do better
                    if isinstance(exc, ContextWindowExceeded):
                        chain = gateway.fallbacks_of(alias, "context_window_fallbacks")
                        if not chain:
                            raise
                        candidates[index + 1 :] = chain
                        break
                    if not (exc.retryable or isinstance(exc, AuthenticationFailed)):
                        raise
                    if (
                        isinstance(exc, AuthenticationFailed)
                        and gateway.deployment_count(alias) < 2
                    ):
                        raise
                    if exc.deployment_id is None:
                        break  # the Router had no deployment to offer: every one cools down
                    gateway.cool_down(alias, exc)
                    await self._wait_as_told(exc, alias)
                    continue
                return response
            index += 1
        raise bad_answer or last or RuntimeError("a call with no candidate alias")

    async def _try(self, alias: str) -> ChatResponse:
        """One try on ``alias``; an answer of the wrong shape raises (its tokens are spent)."""
        emit = self._emit if self.on_token is not None else None
        response, deployment_id = await self.gateway.call_once(alias, self.request, emit)
        try:
            check_shape(response, self.request)
        except MalformedOutput as exc:
            self._spend(response.usage)
            exc.deployment_id = deployment_id
            raise
        return response

    def _record(self, alias: str, exc: LLMError, latency_s: float) -> None:
        deployment = self.gateway.deployment_label(exc.deployment_id) or alias
        message = str(exc).splitlines()[0] if str(exc) else ""
        failed = FailedAttempt(
            deployment=deployment,
            error=type(exc).__name__,
            latency_s=latency_s,
            message=message[:300],
        )
        self.spent.failed_attempts.append(failed)
        log.warning(
            "model call to %r: try %d failed on %s after %.3f s: %s: %s",
            self.request.model,
            len(self.spent.failed_attempts),
            deployment,
            latency_s,
            failed.error,
            failed.message,
        )

    async def _wait_as_told(self, exc: LLMError, alias: str) -> None:
        """A lone deployment that said ``Retry-After`` is waited for (others are not)."""
        if not isinstance(exc, RateLimited) or exc.retry_after is None:
            return
        if self.gateway.deployment_count(alias) > 1:
            return  # the Router cools the limited deployment down; another answers
        await asyncio.sleep(min(max(exc.retry_after, 0.0), MAX_RETRY_AFTER_S))

    async def _void_stream(self, failure: LLMError, next_alias: str) -> None:
        if self.streamed and self.on_restart is not None:
            self.restarts += 1
            await self.on_restart(
                StreamRestart(
                    restart=self.restarts,
                    reason=str(failure),
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

    def merged(self, usage: Usage, latency_s: float) -> Usage:
        """The answer's usage plus what the failed tries cost and took."""
        spent = self.spent
        if not (
            spent.failed_attempts
            or spent.retries
            or spent.fallbacks
            or spent.total_tokens
            or spent.cost_usd
        ):
            usage.latency_s = latency_s  # the common case: one try answered (no copy)
            return usage
        return usage.model_copy(
            update={
                "prompt_tokens": usage.prompt_tokens + spent.prompt_tokens,
                "completion_tokens": usage.completion_tokens + spent.completion_tokens,
                "cost_usd": usage.cost_usd + spent.cost_usd,
                "retries": spent.retries,
                "fallbacks": spent.fallbacks,
                "failed_attempts": list(spent.failed_attempts),
                "latency_s": latency_s,
            }
        )
