"""The team's durable state: registered agents (lifecycle, sessions) and the task queue.

One subpackage for both aggregates because assignment changes a task and its agent's
load in one transaction — the only way to promise that a task is never given to two
agents and no agent holds more than ``max_tasks``, whatever number of dispatchers race.
"""

from orchestra.store.team.agents import AgentRepository, AgentRow, SessionRow, TransitionRow
from orchestra.store.team.assignment import Assigned, AssignmentBatch, assign_batch
from orchestra.store.team.tasks import TaskRepository, TaskRow, TaskUpdateRow

__all__ = [
    "AgentRepository",
    "AgentRow",
    "Assigned",
    "AssignmentBatch",
    "SessionRow",
    "TaskRepository",
    "TaskRow",
    "TaskUpdateRow",
    "TransitionRow",
    "assign_batch",
]
