"""The task and agent state machines: every move the tables allow, and none other."""

from __future__ import annotations

import pytest

from orchestra.agents.lifecycle import (
    AGENT_TRANSITIONS,
    AgentState,
    IllegalAgentTransition,
    check_agent,
)
from orchestra.tasks import TaskStatus, check_task
from orchestra.tasks.errors import IllegalTaskTransition, TaskInputError
from orchestra.tasks.specs import parse_task
from orchestra.tasks.states import PHASES, TASK_TRANSITIONS


def test_phases_move_forward_and_may_skip() -> None:
    check_task("t", TaskStatus.QUEUED, TaskStatus.ASSIGNED)
    check_task("t", TaskStatus.ASSIGNED, TaskStatus.TEST)  # design and build skipped
    check_task("t", TaskStatus.TEST, TaskStatus.COMPLETE)
    for later, earlier in [(b, a) for i, a in enumerate(PHASES) for b in PHASES[i:]]:
        with pytest.raises(IllegalTaskTransition, match="never move backwards"):
            check_task("t", later, earlier)


def test_only_retry_and_requeue_go_back_to_queued() -> None:
    back = {source for source, targets in TASK_TRANSITIONS.items() if TaskStatus.QUEUED in targets}
    assert back == {TaskStatus.FAILED, TaskStatus.CANCELLED, *PHASES}
    with pytest.raises(IllegalTaskTransition, match="final"):
        check_task("t", TaskStatus.COMPLETE, TaskStatus.QUEUED)
    with pytest.raises(IllegalTaskTransition, match="queued"):
        check_task("t", TaskStatus.QUEUED, TaskStatus.COMPLETE)


def test_agent_lifecycle_table() -> None:
    check_agent("a", AgentState.IDLE, AgentState.BUSY)
    check_agent("a", AgentState.BUSY, AgentState.ERROR)
    check_agent("a", AgentState.ERROR, AgentState.IDLE)
    assert AGENT_TRANSITIONS[AgentState.RETIRED] == frozenset()
    with pytest.raises(IllegalAgentTransition, match="retired: cannot become idle"):
        check_agent("a", AgentState.RETIRED, AgentState.IDLE)
    # A busy agent is never retired with work in hand: pause it first.
    with pytest.raises(IllegalAgentTransition):
        check_agent("a", AgentState.BUSY, AgentState.RETIRED)
    assert {s for s in AgentState if s.takes_work} == {AgentState.IDLE, AgentState.BUSY}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x", "complexity": 11}, "complexity"),
        ({"title": "x", "priority": -1}, "priority"),
        ({"title": "x", "capabilities": ["Has Space"]}, "capabilities"),
        ({"title": "x", "colour": "red"}, "colour"),
        ({"description": "no title"}, "title"),
    ],
)
def test_bad_task_names_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(TaskInputError) as caught:
        parse_task(data)
    assert caught.value.field == field
    assert field in str(caught.value)
