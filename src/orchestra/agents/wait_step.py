"""Steps that wait for a message (``* **Wait for:** topic=review.done``) instead of a model.

The step runner hands such a step to a :class:`MessageWaiter` (the runtime gives it
one over the project's message bus, :class:`orchestra.runtime.messaging.BusWaiter`):
no model is called and no tokens are spent; the step's attempt waits in the engine
like any running step. The message's body becomes the step's output: with one output
variable, the body itself when it is a string, else its JSON; with several, the body
must be a JSON object holding every one of them.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from orchestra.definitions.specs import WaitFor
from orchestra.engine.errors import StepFailed
from orchestra.engine.events import EventType
from orchestra.engine.protocols import StepContext, StepResult

DEFAULT_WAIT_S = 3600.0
"""How long a wait step waits when neither its ``timeout=`` nor its ``Timeout`` is set."""


class MessageWaiter(Protocol):
    """Waits for the first message matching ``wait.topic`` for one step of one run."""

    async def prepare(self, ctx: StepContext, wait: WaitFor) -> None:
        """Start listening (idempotent across attempts: an existing listener is kept)."""
        ...

    async def wait(
        self, ctx: StepContext, wait: WaitFor, timeout_s: float
    ) -> tuple[str, Any] | None:
        """(message id, body) of the first match, acknowledged; None after ``timeout_s``."""
        ...


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def outputs_of(ctx: StepContext, body: Any) -> dict[str, str]:
    """The step's outputs from a message body (see the module docstring)."""
    names = ctx.output_vars
    if not names:
        return {}
    if len(names) == 1:
        return {names[0]: _text(body)}
    if not isinstance(body, dict) or any(name not in body for name in names):
        raise StepFailed(
            f"step {ctx.step_id!r}: the message's body must be a JSON object with the keys "
            f"{', '.join(names)} (one per output); give the step a single output to keep "
            "the whole body",
            retryable=False,
        )
    return {name: _text(body[name]) for name in names}


async def run_wait_step(ctx: StepContext, waiter: MessageWaiter | None) -> StepResult:
    """Wait for the step's message and turn its body into the step's outputs."""
    wait = ctx.step.wait_for
    assert wait is not None
    if waiter is None:
        raise StepFailed(
            f"step {ctx.step_id!r} waits for a message on {wait.topic!r}, but this process "
            "has no message bus; run it in `orchestra serve` or `orchestra run`",
            retryable=False,
        )
    timeout_s = wait.timeout_s or ctx.step.timeout_s or DEFAULT_WAIT_S
    await waiter.prepare(ctx, wait)
    await ctx.events.emit(
        EventType.LOG, {"message": f"waiting up to {timeout_s:g}s for a message on {wait.topic}"}
    )
    got = await waiter.wait(ctx, wait, timeout_s)
    if got is None:
        raise StepFailed(
            f"step {ctx.step_id!r}: no message on {wait.topic!r} within {timeout_s:g}s; "
            "raise 'timeout=' in its 'Wait for' bullet or check who publishes it",
            retryable=False,
        )
    message_id, body = got
    await ctx.events.emit(EventType.LOG, {"message": f"received message {message_id}"})
    return StepResult(outputs_of(ctx, body))
