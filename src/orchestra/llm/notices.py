"""Notes a provider has for the caller of one model call, besides its answer.

The embedded model serves a few calls at once (one per llama.cpp context of its
pool), so a step whose call waits for a free context is not running in parallel,
and the user should read that in the run's log rather than guess it from the
timings; a call that found a free context says nothing. The gateway's contract
(:class:`~orchestra.llm.types.ChatResponse`) has no place for it and LiteLLM
sits between the caller and the provider, so the caller listens through a
context variable instead: :func:`listening` binds a callback for the calls made
inside it (asyncio tasks and LiteLLM's executor hops copy the context), and a
provider calls :func:`tell`. Stdlib only: the step runner imports it cheaply.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Listener = Callable[[str], Awaitable[None]]

_listener: ContextVar[Listener | None] = ContextVar("orchestra_model_notice", default=None)
log = logging.getLogger(__name__)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Hand the notices of the model calls made inside the block to ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


async def tell(message: str) -> None:
    """Give ``message`` to the current call's listener (and the process log)."""
    log.info("%s", message)
    listener = _listener.get()
    if listener is not None:
        await listener(message)
