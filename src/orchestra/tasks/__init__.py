"""Tasks: units of work that are queued, assigned to a suitable free agent and run.

A task compiles to a run of the one engine (DESIGN.md: never a second executor); this
package holds what is particular to tasks — their states and phases, the draft a user
submits, and the errors — while the store keeps them and ``agents.assignment`` picks
who takes them.
"""

from orchestra.tasks.errors import IllegalTaskTransition, TaskError, TaskNotFound
from orchestra.tasks.specs import TaskDraft
from orchestra.tasks.states import TaskStatus, check_task, task_sources

__all__ = [
    "IllegalTaskTransition",
    "TaskDraft",
    "TaskError",
    "TaskNotFound",
    "TaskStatus",
    "check_task",
    "task_sources",
]
