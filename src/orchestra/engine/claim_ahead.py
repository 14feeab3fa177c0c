"""Claim-ahead: which steps to claim in the transaction that makes them ready.

A step that finishes successfully usually makes its dependents ready. Instead of
one commit for the success and another for each dependent's claim, the executor
asks :meth:`ClaimAhead.ready_after` which dependents will start at once, and the
store claims them in the same transaction (``finish_step(claim_next=…)``); a run's
opening does the same for its first ready steps. A step claimed ahead also holds
its concurrency slot (reserved here) until its task starts, so a claim is never
made for a step that would then wait for a slot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestra.definitions.specs import StepSpec
from orchestra.engine.errors import over_budget
from orchestra.engine.ids import StepId
from orchestra.engine.protocols import ClaimRequest, UsageTotals

if TYPE_CHECKING:
    from orchestra.engine.driver import RunDriver


def startable(step: StepSpec) -> bool:
    """Started as soon as it is ready: nothing to evaluate or wait for first."""
    return not step.when and not step.approval


class ClaimAhead:
    """The claim-ahead bookkeeping of one run's driver: reserved slots and the steps
    whose success is being committed."""

    def __init__(self, driver: RunDriver) -> None:
        self.driver = driver
        self.limits = driver.engine.limits
        self.lease_s = driver.engine.settings.lease_s
        self.reserved: set[StepId] = set()
        """Steps claimed ahead whose concurrency slot is reserved until they start."""
        self.finishing: set[StepId] = set()
        """Steps whose success is being committed (asked ``ready_after``, no outcome yet)."""
        self.finishing_usage: dict[StepId, UsageTotals] = {}
        """What the finishing steps spent, not yet in the driver's total."""

    def request(self, sid: StepId, requires: tuple[StepId, ...] = ()) -> ClaimRequest:
        return ClaimRequest(
            sid, self.lease_s, {"agent": self.driver.steps[sid].agent_name}, requires
        )

    def reserve(self, candidates: list[StepId], freeing: StepId | None) -> list[StepId]:
        """Keep the candidates a concurrency slot is free for, and reserve those slots."""
        if not candidates or self.limits.unlimited:
            return candidates
        slots = [self.driver.slot_of(sid) for sid in candidates]
        freed = self.driver.slot_of(freeing) if freeing is not None else None
        kept = self.limits.room(slots, freed)
        for sid, slot in zip(candidates[:kept], slots[:kept], strict=True):
            self.limits.reserve(*slot)
            self.reserved.add(sid)
        return candidates[:kept]

    def take(self, sid: StepId) -> bool:
        """Whether ``sid``'s slot was reserved (its task starts now and takes it over)."""
        if sid in self.reserved:
            self.reserved.discard(sid)
            return True
        return False

    def unreserve_all(self) -> None:
        for sid in self.reserved:
            self.limits.unreserve(*self.driver.slot_of(sid))
        self.reserved.clear()

    def finished(self, sid: StepId) -> None:
        """``sid``'s outcome reached the driver (its usage is in the run's total now)."""
        self.finishing.discard(sid)
        self.finishing_usage.pop(sid, None)

    def _spends_budget(self) -> bool:
        """Whether the run's budget is spent once the finishing steps' usage is counted:
        then their successes must not claim anything (the driver stops the run)."""
        budget = self.driver.spec.budget
        if budget is None:
            return False
        total = self.driver.usage
        for spent in self.finishing_usage.values():
            total = total + spent
        return over_budget(budget, total) is not None

    def ready_after(self, sid: StepId, usage: UsageTotals) -> list[ClaimRequest]:
        """The dependents of ``sid`` that start at once if it succeeds now, so the store
        can claim them in the same transaction: every other unfinished dependency is
        finishing too (its success is queued ahead of this one: siblings ending
        together, as a layer of parallel steps does), no condition or approval to
        evaluate first, a concurrency slot is free, and the run's budget is not spent by
        what the finishing steps report (``usage`` is ``sid``'s). The store checks in the
        transaction that those siblings did succeed before it claims."""
        driver = self.driver
        if not driver.accepting_claims:
            return []
        self.finishing.add(sid)
        self.finishing_usage[sid] = usage
        if self._spends_budget():
            return []
        ready: list[StepId] = []
        requires: dict[StepId, tuple[StepId, ...]] = {}
        finishing = len(self.finishing)
        for dep in driver.dependents[sid]:
            unfinished = driver.unfinished[dep]
            if (
                unfinished > finishing  # then some unfinished dependency is not finishing
                or dep in driver.started
                or dep in self.reserved
                or driver.status[dep].terminal
                or not startable(driver.steps[dep])
            ):
                continue
            if unfinished > 1:
                others = {
                    other
                    for other in map(StepId, driver.steps[dep].dependencies)
                    if other != sid and not driver.status[other].terminal
                }
                if not others <= self.finishing:
                    continue
                requires[dep] = tuple(sorted(others))
            ready.append(dep)
        return [self.request(dep, requires.get(dep, ())) for dep in self.reserve(ready, sid)]
