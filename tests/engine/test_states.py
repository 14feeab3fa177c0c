import pytest

from orchestra.engine.errors import IllegalTransition
from orchestra.engine.states import (
    RUN_TRANSITIONS,
    STEP_TRANSITIONS,
    RunStatus,
    StepStatus,
    check_run,
    check_step,
    run_sources,
    step_sources,
)


@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s in RunStatus for t in RunStatus],
)
def test_run_transitions_follow_the_table(source: RunStatus, target: RunStatus) -> None:
    if target in RUN_TRANSITIONS[source]:
        check_run("r", source, target)
    else:
        with pytest.raises(IllegalTransition):
            check_run("r", source, target)


@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s in StepStatus for t in StepStatus],
)
def test_step_transitions_follow_the_table(source: StepStatus, target: StepStatus) -> None:
    if target in STEP_TRANSITIONS[source]:
        check_step("s", source, target)
    else:
        with pytest.raises(IllegalTransition):
            check_step("s", source, target)


def test_terminal_states_have_no_way_out() -> None:
    for status in RunStatus:
        assert status.terminal == (not RUN_TRANSITIONS[status])
    for status in StepStatus:
        assert status.terminal == (not STEP_TRANSITIONS[status])


def test_key_paths() -> None:
    assert RunStatus.WAITING in run_sources(RunStatus.RUNNING)
    assert RunStatus.SUCCEEDED not in run_sources(RunStatus.RUNNING)
    assert step_sources(StepStatus.SKIPPED) == (StepStatus.PENDING,)
    # an interrupted attempt may be claimed again
    assert StepStatus.RUNNING in step_sources(StepStatus.RUNNING)
