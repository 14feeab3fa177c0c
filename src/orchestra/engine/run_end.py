"""How a run's drive ends: the run's final status, the steps no task settled, detaching.

Kept apart from :mod:`orchestra.engine.driver` because ending is its own
decision with its own rules: a detach (shutdown, a lost lease) leaves the run as
it is for a resume; otherwise every step still open is settled (failed when its
failure never reached the store, else cancelled) and the run gets its one
``run_finished`` event, with the budget error when the workflow's ``budget:`` stopped it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orchestra.engine.errors import ExecutorFailed, error_data
from orchestra.engine.events import EventType
from orchestra.engine.states import RunStatus, StepStatus

if TYPE_CHECKING:
    from orchestra.engine.driver import RunDriver


def final_status(driver: RunDriver) -> RunStatus:
    if driver.cancelling:
        return RunStatus.CANCELLED
    if (
        driver.failed
        or driver.over_budget is not None
        or any(s is StepStatus.FAILED for s in driver.status.values())
    ):
        return RunStatus.FAILED
    if any(s is StepStatus.CANCELLED for s in driver.status.values()):
        return RunStatus.CANCELLED  # a cancel that a detach or crash interrupted
    if all(s.terminal for s in driver.status.values()):
        return RunStatus.SUCCEEDED
    return RunStatus.FAILED


async def finish(driver: RunDriver) -> RunStatus:
    if driver.lost_ownership:
        return driver.run_status
    if driver.detach_reason is not None and not all(s.terminal for s in driver.status.values()):
        return await _detached(driver, driver.detach_reason)
    final = final_status(driver)
    await _settle_leftovers(driver)
    if driver.unsettled and final is RunStatus.SUCCEEDED:
        final = RunStatus.FAILED
    if driver.run_status is RunStatus.WAITING and final is RunStatus.SUCCEEDED:
        await driver.set_run(RunStatus.RUNNING)
    failed_steps = [sid for sid, s in driver.status.items() if s is StepStatus.FAILED]
    content: dict[str, Any] = {"status": final.value, "usage": driver.usage.to_json()}
    error: dict[str, Any] | None = None
    if failed_steps:
        content["failed_steps"] = failed_steps
        error = {"failed_steps": failed_steps}
    if driver.over_budget is not None and not driver.cancelling:
        error = {**error_data(driver.over_budget), **(error or {})}
        content["error"] = error_data(driver.over_budget)
    await driver.set_run(final, [(EventType.RUN_FINISHED, None, content)], error=error)
    return final


async def _settle_leftovers(driver: RunDriver) -> None:
    """Settle the steps no task settled: cancelled before they were claimed (or while
    claimed ahead), or failed while the store was down."""
    failed = [sid for sid in driver.unsettled if driver.status[sid] is StepStatus.FAILED]
    if failed:
        failure = error_data(ExecutorFailed(failed[0], RuntimeError("store unavailable")))
        await driver.store.settle_steps(
            driver.run_id,
            failed,
            StepStatus.FAILED,
            [
                (EventType.STEP_FAILED, sid, {"status": "failed", "error": failure})
                for sid in failed
            ],
            error=failure,
        )
    leftover = [sid for sid in driver.unsettled if sid not in failed] + [
        sid for sid, s in driver.status.items() if not s.terminal and sid not in driver.unsettled
    ]
    if leftover:
        await driver.store.settle_steps(
            driver.run_id,
            leftover,
            StepStatus.CANCELLED,
            [(EventType.STEP_FAILED, sid, {"status": "cancelled"}) for sid in leftover],
        )
        for sid in leftover:
            if not driver.status[sid].terminal:
                driver.status[sid] = StepStatus.CANCELLED


async def _detached(driver: RunDriver, reason: str) -> RunStatus:
    """Release what this driver holds and say so; the run stays as it is."""
    owner = driver.engine.owner
    released = await driver.store.detach_steps(driver.run_id, owner)
    steps = f"; interrupted steps: {', '.join(released)}" if released else ""
    await driver.store.append_events(
        driver.run_id,
        [
            (
                EventType.LOG,
                None,
                {
                    "level": "info",
                    "message": f"run detached by {owner} ({reason}){steps}; "
                    f"`orchestra runs resume {driver.run_id}` (or the next server "
                    "start) continues it",
                    "detached": True,
                    "reason": reason,
                    "interrupted_steps": released,
                },
            )
        ],
    )
    return driver.run_status


__all__ = ["final_status", "finish"]
