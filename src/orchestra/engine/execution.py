"""Executing one step from its ids: read, claim under a lease, run, commit under the fence.

This is the code every executor runs (in-process today, a Celery worker later):
it needs only ``(run_id, step_id)`` plus a store and a step runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from orchestra.engine.errors import LeaseLost, StepFailed, StepTimeout, error_data
from orchestra.engine.events import EventType
from orchestra.engine.ids import RunId, StepId, idempotency_key, owner_is_dead
from orchestra.engine.protocols import (
    Claim,
    ClaimRequest,
    EventDraft,
    LeaseState,
    RunDefinition,
    RunStore,
    StepContext,
    StepOutcome,
    StepResult,
    StepRunner,
)
from orchestra.engine.states import StepStatus
from orchestra.engine.variables import substitute
from orchestra.usage import UsageTotals

log = logging.getLogger(__name__)

TOKEN_FLUSH_CHARS = 256
"""Streamed tokens are coalesced into one ``token`` event per this many characters."""


class StepEmitter:
    """The :class:`EventEmitter` a step runner gets.

    Events are queued behind the step's earlier writes without waiting for
    their commit (they still commit before anyone sees them); every 64th event
    waits, which bounds the backlog. Tokens are coalesced (see TOKEN_FLUSH_CHARS)
    and the remainder is committed with the step's final transition.
    """

    def __init__(self, store: RunStore, run_id: RunId, step_id: StepId) -> None:
        self._store = store
        self._run_id = run_id
        self._step_id = step_id
        self._tokens: list[str] = []
        self._token_chars = 0
        self._restart: Any = None
        """The ``restart`` marker of the buffered tokens (None: the first stream)."""
        self._count = 0

    async def emit(self, type: EventType, content: dict[str, Any]) -> None:
        if type is EventType.TOKEN:
            text = str(content.get("text", ""))
            restart = content.get("restart")
            if restart != self._restart:
                # Tokens of another stream (after a restart) never share an event with
                # the void ones: a live view drops text by this marker (docs/models.md).
                if self._tokens:
                    await self._write([self._token_draft()])
                self._restart = restart
            self._tokens.append(text)
            self._token_chars += len(text)
            if self._token_chars >= TOKEN_FLUSH_CHARS:
                await self._write([self._token_draft()])
            return
        drafts = [self._token_draft()] if self._tokens else []
        drafts.append((type, self._step_id, content))
        await self._write(drafts)

    def _token_draft(self) -> EventDraft:
        text = "".join(self._tokens)
        self._tokens.clear()
        self._token_chars = 0
        if self._restart:
            return (EventType.TOKEN, self._step_id, {"text": text, "restart": self._restart})
        return (EventType.TOKEN, self._step_id, {"text": text})

    async def _write(self, drafts: list[EventDraft]) -> None:
        self._count += 1
        await self._store.append_events(self._run_id, drafts, wait=self._count % 64 == 0)

    def remaining(self) -> list[EventDraft]:
        """Buffered tokens, to be committed with the step's final transition."""
        return [self._token_draft()] if self._tokens else []


def backoff_delay(failures: int, base_s: float, max_s: float) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(max, base * 2**(n-1))]."""
    return random.uniform(0.0, min(max_s, base_s * 2 ** (failures - 1)))


def _step_variables(
    definition: RunDefinition,
    outputs: Mapping[StepId, Mapping[str, str]],
    input_vars: tuple[str, ...],
) -> dict[str, str]:
    variables = dict(definition.inputs)
    for values in outputs.values():
        variables.update(values)
    for name in input_vars:
        variables.setdefault(name, "")  # written by a skipped step: it has no value
    return variables


ReadyAfter = Callable[[RunId, StepId, UsageTotals], Sequence[ClaimRequest]]
"""Which steps to claim with a step's success, given what that step spent."""
"""The steps the scheduler will start at once if the given step succeeds now."""


class StepExecution:
    """Runs steps by id. One instance per engine (or worker).

    Its only per-run state is the claims made ahead: when ``ready_after`` names steps a
    success makes ready, they are claimed in the transaction that commits the success
    (one commit per step instead of two) and kept here until the scheduler hands them
    in. :meth:`forget` drops what is left when a drive of the run ends.
    """

    def __init__(
        self,
        store: RunStore,
        runner: StepRunner,
        owner: str,
        *,
        lease_s: float = 30.0,
        retry_base_s: float = 1.0,
        retry_max_s: float = 30.0,
        ready_after: ReadyAfter | None = None,
    ) -> None:
        self.store = store
        self.runner = runner
        self.owner = owner
        self.lease_s = lease_s
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.ready_after = ready_after
        self._ahead: dict[tuple[RunId, StepId], Claim] = {}
        self.detaching: set[RunId] = set()
        """Runs being detached: a cancelled attempt of theirs is left running, not ended."""
        self.claim_content: dict[str, Any] = {}
        """Extra content of every ``step_started`` this execution claims: an ``orchestra
        worker`` sets ``{"worker": <node name>}``, which the store also keeps on the attempt."""

    def adopt(self, claims: Sequence[Claim]) -> None:
        """Keep claims made ahead (by the scheduler's run opening) until their step runs."""
        for claim in claims:
            self._ahead[(claim.run_id, claim.step_id)] = claim

    def forget(self, run_id: RunId) -> list[Claim]:
        """Drop (and return) the claims made ahead for ``run_id`` and never handed in."""
        left = [claim for key, claim in self._ahead.items() if key[0] == run_id]
        for claim in left:
            del self._ahead[(run_id, claim.step_id)]
        return left

    async def execute(self, run_id: RunId, step_id: StepId) -> StepOutcome:
        definition = await self.store.get_definition(run_id)
        spec = definition.spec
        step = definition.step(step_id)
        agent = spec.agents.get(step.agent_name)
        # A validated step depends on every step that writes a variable it reads.
        upstream = [StepId(dep) for dep in step.dependencies]
        outputs = await self.store.read_outputs(run_id, upstream)
        variables = _step_variables(definition, outputs, step.input_vars)
        failures = 0
        ahead = self._ahead.pop((run_id, step_id), None)
        while True:
            claimed: Claim | StepOutcome | None = None
            if ahead is not None:
                claimed = await self._take_ahead(ahead)
                ahead = None
            if claimed is None:
                claimed = await self._claim(run_id, step_id, step.agent_name)
            if isinstance(claimed, StepOutcome):
                return claimed
            claim = claimed
            emitter = StepEmitter(self.store, run_id, step_id)
            if agent is None:
                unknown = StepFailed(
                    f"step {step_id!r} uses agent {step.agent_name!r}, which the workflow "
                    "snapshot does not contain; fix the workflow and start a new run",
                    retryable=False,
                )
                return await self._fail(claim, emitter, unknown)
            context = StepContext(
                run_id=run_id,
                step_id=step_id,
                attempt=claim.attempt,
                step=step,
                agent=agent,
                instruction=substitute(step.instruction, variables),
                inputs={name: variables[name] for name in step.input_vars},
                output_vars=step.output_vars,
                idempotency_key=idempotency_key(run_id, step_id),
                events=emitter,
                budget=step.budget or agent.budget,
            )
            try:
                result = await self._attempt(claim, context)
            except LeaseLost as lost:
                return StepOutcome(step_id, StepStatus.RUNNING, error=str(lost))
            except _CancelRequested:
                return await self._cancelled(claim, emitter)
            except asyncio.CancelledError:
                if run_id in self.detaching:
                    # Stopped, not cancelled: the attempt stays running (resumable) and
                    # the scheduler releases its lease; only buffered tokens are written.
                    remaining = emitter.remaining()
                    if remaining:
                        await asyncio.shield(self.store.append_events(run_id, remaining))
                    raise
                await asyncio.shield(self._cancelled(claim, emitter))
                raise
            except StepFailed as error:
                failures += 1
                if error.retryable and failures <= step.retries:
                    delay = backoff_delay(failures, self.retry_base_s, self.retry_max_s)
                    await self.store.finish_step(
                        claim,
                        StepStatus.PENDING,
                        error=error_data(error),
                        events=[
                            *emitter.remaining(),
                            (
                                EventType.ERROR,
                                step_id,
                                {
                                    **error_data(error),
                                    "attempt": claim.attempt,
                                    "retry_in_s": round(delay, 3),
                                },
                            ),
                        ],
                    )
                    await asyncio.sleep(delay)
                    continue
                return await self._fail(claim, emitter, error)
            missing = [name for name in step.output_vars if name not in result.outputs]
            if missing:
                incomplete = StepFailed(
                    f"step {step_id!r} finished without output(s) {', '.join(missing)}; "
                    "the step runner must return every declared output",
                    retryable=False,
                )
                return await self._fail(claim, emitter, incomplete)
            outputs_only = {name: result.outputs[name] for name in step.output_vars}
            following = self.ready_after(run_id, step_id, result.usage) if self.ready_after else ()
            try:
                made = await self.store.finish_step(
                    claim,
                    StepStatus.SUCCEEDED,
                    outputs=outputs_only,
                    usage=result.usage,
                    events=[
                        *emitter.remaining(),
                        (
                            EventType.STEP_COMPLETE,
                            step_id,
                            {
                                "status": "succeeded",
                                "attempt": claim.attempt,
                                "outputs": outputs_only,
                                "usage": result.usage.to_json(),
                            },
                        ),
                    ],
                    claim_next=following,
                )
            except LeaseLost as lost:
                return StepOutcome(step_id, StepStatus.RUNNING, error=str(lost))
            self.adopt(made)
            return StepOutcome(step_id, StepStatus.SUCCEEDED, outputs_only, usage=result.usage)

    async def _take_ahead(self, claim: Claim) -> Claim | None:
        """A claim made ahead, renewed first if it waited long (for a concurrency slot);
        None when it was lost meanwhile (then the step is claimed the ordinary way)."""
        if claim.lease_expires_at - time.time() > self.lease_s / 2:
            return claim
        if (await self.store.renew_step(claim, self.lease_s)).held:
            return claim
        return None

    async def _claim(self, run_id: RunId, step_id: StepId, agent: str) -> Claim | StepOutcome:
        reclaim: set[str] = set()
        while True:
            claim = await self.store.claim_step(
                run_id,
                step_id,
                self.owner,
                self.lease_s,
                reclaim,
                {"agent": agent, **self.claim_content},
            )
            if claim is not None:
                return claim
            record = (await self.store.get_run(run_id)).steps[step_id]
            if record.status.terminal:
                return StepOutcome(step_id, record.status, record.outputs)
            if record.status is StepStatus.RUNNING and owner_is_dead(record.lease_owner):
                reclaim.add(record.lease_owner or "")
                continue
            wait = (record.lease_expires_at or 0.0) - time.time()
            await asyncio.sleep(min(1.0, max(0.05, wait)))

    async def _attempt(self, claim: Claim, context: StepContext) -> StepResult:
        """Run the step runner under the step's timeout while a keeper renews the lease."""
        work = asyncio.current_task()
        assert work is not None
        keeper = _LeaseKeeper(self.store, claim, self.lease_s, work)
        timeout_s = context.step.timeout_s
        try:
            if timeout_s is None:  # no timeout context to enter and leave on every step
                return await self.runner.run_step(context)
            async with asyncio.timeout(timeout_s):
                return await self.runner.run_step(context)
        except TimeoutError as exc:
            raise StepTimeout(claim.step_id, timeout_s or 0.0) from exc
        except asyncio.CancelledError:
            if keeper.lost and work.uncancel() == 0:
                raise LeaseLost(f"lease of step {claim.step_id!r} was taken over") from None
            if keeper.cancel_requested and work.uncancel() == 0:
                raise _CancelRequested from None
            raise
        except (StepFailed, LeaseLost):
            raise
        except Exception as exc:  # a step runner bug: record it as data, do not retry
            raise StepFailed(
                f"step runner crashed: {type(exc).__name__}: {exc}",
                retryable=False,
                data={"exception": type(exc).__name__},
            ) from exc
        finally:
            await keeper.stop()

    async def _cancelled(self, claim: Claim, emitter: StepEmitter) -> StepOutcome:
        """End a cancelled attempt (unless it lost its lease meanwhile)."""
        with contextlib.suppress(LeaseLost):
            await self.store.finish_step(
                claim,
                StepStatus.CANCELLED,
                events=[
                    *emitter.remaining(),
                    (
                        EventType.STEP_FAILED,
                        claim.step_id,
                        {"status": "cancelled", "attempt": claim.attempt, "reason": "cancelled"},
                    ),
                ],
            )
        return StepOutcome(claim.step_id, StepStatus.CANCELLED)

    async def _fail(self, claim: Claim, emitter: StepEmitter, error: StepFailed) -> StepOutcome:
        failure = error_data(error)
        try:
            await self.store.finish_step(
                claim,
                StepStatus.FAILED,
                error=failure,
                events=[
                    *emitter.remaining(),
                    (
                        EventType.STEP_FAILED,
                        claim.step_id,
                        {
                            "status": "failed",
                            "attempt": claim.attempt,
                            "error": failure,
                            "will_retry": False,
                        },
                    ),
                ],
            )
        except LeaseLost as lost:
            return StepOutcome(claim.step_id, StepStatus.RUNNING, error=str(lost))
        return StepOutcome(claim.step_id, StepStatus.FAILED, error=str(error))


class _CancelRequested(Exception):
    """A lease renewal learned that the run's cancellation was requested."""


class _LeaseKeeper:
    """Renews an attempt's lease every ``lease_s / 3`` while it runs; cancels the attempt
    when a renewal finds the fence changed (``lost``) or the run's cancellation requested
    (``cancel_requested``: the attempt may run on another process than the driver).

    A timer, not a task: most attempts end long before their first renewal, and a task
    per attempt (created, cancelled, awaited) is a measurable part of a short step.
    """

    def __init__(self, store: RunStore, claim: Claim, lease_s: float, work: asyncio.Task[Any]):
        self._store = store
        self._claim = claim
        self._lease_s = lease_s
        self._work = work
        self.lost = False
        self.cancel_requested = False
        self._loop = asyncio.get_running_loop()
        self._renewing: asyncio.Task[None] | None = None
        self._stopped = False
        self._timer = self._loop.call_later(lease_s / 3, self._due)

    def _due(self) -> None:
        self._renewing = self._loop.create_task(self._renew())

    async def _renew(self) -> None:
        try:
            state = await self._store.renew_step(self._claim, self._lease_s)
        except Exception:  # the store is unavailable: try again at the next tick
            log.warning("renewing the lease of step %r failed", self._claim.step_id, exc_info=True)
            state = LeaseState(held=True)
        if self._stopped:
            return
        if not state.held or state.cancel_requested:
            self.lost = not state.held
            self.cancel_requested = state.held
            self._work.cancel()
            return
        self._timer = self._loop.call_later(self._lease_s / 3, self._due)

    async def stop(self) -> None:
        self._stopped = True
        self._timer.cancel()
        renewing = self._renewing
        if renewing is not None and not renewing.done():
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
