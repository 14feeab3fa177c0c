"""The small contracts the engine depends on; ``store/``, ``agents/`` and executors provide them.

The engine imports nothing from ``store``, ``llm``, ``api`` or ``cli``: it is
handed a :class:`RunStore`, a :class:`StepRunner` and an :class:`Executor`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from orchestra.definitions.specs import AgentSpec, Budget, StepSpec, WorkflowSpec
from orchestra.engine.events import EventType, ExecutionEvent
from orchestra.engine.ids import RunId, StepId
from orchestra.engine.states import RunStatus, StepStatus
from orchestra.usage import UsageTotals as UsageTotals  # re-exported: part of the contract

NO_USAGE = UsageTotals()
"""Nothing spent (immutable, so one instance serves every default)."""


@dataclass(frozen=True, slots=True)
class StepRecord:
    """The persisted state of one step of a run."""

    step_id: StepId
    status: StepStatus
    attempt: int = 0
    fence: int = 0
    lease_owner: str | None = None
    lease_expires_at: float | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)
    usage: UsageTotals = NO_USAGE
    error: Mapping[str, Any] | None = None
    started_at: float | None = None
    finished_at: float | None = None


Decision = Literal["approved", "rejected"]


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    step_id: StepId
    requested_at: float
    decision: Decision | None = None
    decided_by: str | None = None
    reason: str | None = None
    decided_at: float | None = None


@dataclass(frozen=True, slots=True)
class RunDefinition:
    """What a run executes: the workflow snapshot it started with and its inputs. Immutable."""

    run_id: RunId
    spec: WorkflowSpec
    source_hash: str
    inputs: Mapping[str, str]
    _steps: dict[str, StepSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_steps", {step.id: step for step in self.spec.steps})

    def step(self, step_id: str) -> StepSpec:
        """The step by id, in constant time (``WorkflowSpec.step`` scans the list, which
        a long chain pays on every step). KeyError when there is none."""
        return self._steps[step_id]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run as stored, with its steps and approvals."""

    definition: RunDefinition
    status: RunStatus
    steps: Mapping[StepId, StepRecord]
    approvals: Mapping[StepId, ApprovalRecord]
    created_at: float
    updated_at: float
    finished_at: float | None = None
    owner: str | None = None
    lease_expires_at: float | None = None
    cancel_requested: bool = False
    last_seq: int = 0
    error: Mapping[str, Any] | None = None

    @property
    def run_id(self) -> RunId:
        return self.definition.run_id

    @property
    def usage(self) -> UsageTotals:
        total = UsageTotals()
        for step in self.steps.values():
            total = total + step.usage
        return total


@dataclass(frozen=True, slots=True)
class Claim:
    """A claimed attempt: only a commit carrying this ``fence`` is accepted for the step."""

    run_id: RunId
    step_id: StepId
    attempt: int
    fence: int
    owner: str
    lease_expires_at: float


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """A step to claim in the transaction that finishes the step making it ready."""

    step_id: StepId
    lease_s: float
    content: Mapping[str, Any] = field(default_factory=dict)
    """Extra content of its ``step_started`` event."""
    requires: tuple[StepId, ...] = ()
    """Its other dependencies, finishing in the same group commit: the claim is made
    only if each of them has succeeded by then (checked in the transaction)."""


@dataclass(frozen=True, slots=True)
class RunOpening:
    """What a driver writes in the transaction that claims its run."""

    status: RunStatus | None
    """The run's transition (queued → running), if any."""
    events: Sequence[EventDraft] = ()
    claims: Sequence[ClaimRequest] = ()
    """Pending steps ready at once, claimed for the same owner."""


@dataclass(frozen=True, slots=True)
class OpenedRun:
    record: RunRecord
    """The run as read before the opening was written."""
    claimed: bool
    claims: list[Claim] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RunSignals:
    """What a run's owner learns on each heartbeat."""

    owns_run: bool
    cancel_requested: bool
    decisions: Mapping[StepId, ApprovalRecord] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LeaseState:
    """What renewing a step's lease tells the attempt (which may run on another process
    than the run's driver): whether it still holds the step, and whether the run's
    cancellation was requested, so it can stop at once."""

    held: bool
    cancel_requested: bool = False


EventDraft = tuple[EventType, StepId | None, dict[str, Any]]
"""An event before the store gives it a sequence number and timestamp."""


class RunStore(Protocol):
    """Durable run state. Every write is one transaction that also stores its events;
    events are handed to the :class:`EventSink` only after that transaction commits."""

    async def create_run(
        self, spec: WorkflowSpec, inputs: Mapping[str, str], run_id: RunId | None = None
    ) -> RunId: ...

    async def get_run(self, run_id: RunId) -> RunRecord: ...

    async def get_definition(self, run_id: RunId) -> RunDefinition: ...

    async def read_outputs(
        self, run_id: RunId, step_ids: Collection[StepId]
    ) -> dict[StepId, Mapping[str, str]]: ...

    async def read_events(
        self, run_id: RunId, after_seq: int = 0, limit: int | None = None
    ) -> list[ExecutionEvent]: ...

    async def claim_run(
        self, run_id: RunId, owner: str, lease_s: float, reclaim_from: Collection[str] = ()
    ) -> bool: ...

    async def open_run(
        self,
        run_id: RunId,
        owner: str,
        lease_s: float,
        *,
        owner_is_dead: Callable[[str], bool],
        opening: Callable[[RunRecord], RunOpening] | None = None,
    ) -> OpenedRun:
        """Read the run and claim its lease in one transaction.

        Not claimed when the run is finished, or when another owner holds an unexpired
        lease and ``owner_is_dead(owner)`` is false. Once claimed, ``opening(record)``
        says what else to write in the same transaction."""
        ...

    async def heartbeat_run(
        self, run_id: RunId, owner: str, lease_s: float, *, with_decisions: bool = False
    ) -> RunSignals: ...

    async def release_run(self, run_id: RunId, owner: str) -> None: ...

    async def set_run_status(
        self,
        run_id: RunId,
        target: RunStatus,
        events: Iterable[EventDraft] = (),
        *,
        error: Mapping[str, Any] | None = None,
    ) -> None: ...

    async def claim_step(
        self,
        run_id: RunId,
        step_id: StepId,
        owner: str,
        lease_s: float,
        reclaim_from: Collection[str] = (),
        content: Mapping[str, Any] | None = None,
    ) -> Claim | None: ...

    async def renew_step(self, claim: Claim, lease_s: float) -> LeaseState:
        """Extend the attempt's lease if ``claim.fence`` still holds it; say whether it
        does and whether the run's cancellation was requested meanwhile."""
        ...

    async def finish_step(
        self,
        claim: Claim,
        target: StepStatus,
        *,
        outputs: Mapping[str, str] | None = None,
        usage: UsageTotals | None = None,
        error: Mapping[str, Any] | None = None,
        events: Iterable[EventDraft] = (),
        claim_next: Sequence[ClaimRequest] = (),
    ) -> list[Claim]:
        """End an attempt under its fence (``LeaseLost`` if stale). On success, also claim
        ``claim_next`` for the same owner in the same transaction; return those claims."""
        ...

    async def settle_steps(
        self,
        run_id: RunId,
        step_ids: Collection[StepId],
        target: StepStatus,
        events: Iterable[EventDraft] = (),
        *,
        error: Mapping[str, Any] | None = None,
    ) -> None:
        """Move the steps (pending, or running under any lease) straight to ``target``,
        storing ``error`` as each one's error when given; events only for steps moved."""
        ...

    async def detach_steps(
        self, run_id: RunId, owner: str, events: Iterable[EventDraft] = ()
    ) -> list[StepId]:
        """Release every step lease ``owner`` holds in the run, leaving the steps running
        (resumable) with their attempts interrupted; store ``events``. Returns the steps."""
        ...

    async def request_approval(self, run_id: RunId, step_id: StepId) -> ApprovalRecord: ...

    async def decide_approval(
        self, run_id: RunId, step_id: StepId, decision: Decision, by: str, reason: str
    ) -> ApprovalRecord: ...

    async def request_cancel(self, run_id: RunId) -> None: ...

    async def append_events(
        self, run_id: RunId, events: Iterable[EventDraft], *, wait: bool = True
    ) -> None: ...


class EventSink(Protocol):
    """Receives events after they are committed (the :class:`EventBus` is one)."""

    def publish(self, events: Iterable[ExecutionEvent]) -> None: ...


CommitListener = Callable[[RunId, int, int], None]
"""Told ``(run_id, first_seq, last_seq)`` when another process committed events of a run."""


class CommitNotifier(Protocol):
    """Tells the processes sharing a database that events were committed.

    The store's local sinks see local commits at once; a notifier carries
    "run R now has events up to seq S" to the *other* processes, whose
    subscribers then read the events from the store by seq (no gap, no
    duplicate). ``resync`` listeners run after a lost connection came back,
    because notifications sent meanwhile are gone and must be caught up.
    """

    def publish(self, events: Sequence[ExecutionEvent]) -> None:
        """Announce a local commit (called by the store's commit hook; must not block)."""
        ...

    def listen(self, on_commit: CommitListener, on_resync: Callable[[], None]) -> None: ...

    async def start(self) -> None: ...

    async def aclose(self) -> None: ...


class EventEmitter(Protocol):
    """How a running step reports progress; every call becomes a stored event."""

    async def emit(self, type: EventType, content: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class StepContext:
    """Everything a step runner gets: ids, the agent, the resolved instruction and inputs."""

    run_id: RunId
    step_id: StepId
    attempt: int
    step: StepSpec
    agent: AgentSpec
    instruction: str
    inputs: Mapping[str, str]
    output_vars: tuple[str, ...]
    idempotency_key: str
    events: EventEmitter
    budget: Budget | None = None


@dataclass(frozen=True, slots=True)
class StepResult:
    outputs: dict[str, str]
    usage: UsageTotals = NO_USAGE


class StepRunner(Protocol):
    """Runs one attempt of a step (the agent loop). Raise ``StepFailed`` to fail it."""

    async def run_step(self, ctx: StepContext) -> StepResult: ...


@runtime_checkable
class RunScopedRunner(Protocol):
    """A step runner holding per-run resources (MCP sessions...) to release when the engine
    stops driving a run.

    The engine calls ``close_run`` once per ``Engine.drive`` of the run, after every step
    task of that drive has ended, however the drive ended (finished, failed, cancelled,
    detached, crashed). It is shielded from cancellation; an exception it raises is logged,
    never raised. A later resume of the run may use the runner again.
    """

    async def close_run(self, run_id: RunId) -> None: ...


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """How an executed step ended, as the scheduler needs to know it."""

    step_id: StepId
    status: StepStatus
    outputs: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    usage: UsageTotals = NO_USAGE
    settled: bool = True
    """False when the step never reached the store (cancelled before it was claimed)."""


class Executor(Protocol):
    """Runs a ready step given only its ids; all it needs is read from the store.

    An executor whose steps are claimed by other processes (workers) sets a class
    attribute ``claims_ahead = False``: the driver then claims no step ahead for its
    own in-process execution (a claim only that process could use).
    """

    async def execute(self, run_id: RunId, step_id: StepId) -> StepOutcome: ...
