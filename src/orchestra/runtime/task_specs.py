"""What a task becomes: the registry's profile of an agent, the run id of each attempt,
and the one-step workflow of a task that names no workflow."""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

from orchestra.definitions.specs import AgentSpec, InputSpec, StepSpec, WorkflowSpec
from orchestra.engine.ids import RunId
from orchestra.store.team.agents import AgentProfile
from orchestra.store.team.tasks import TaskRow

TASK_STEP = "task"
RESULT_VAR = "Result"


def agent_profile(spec: AgentSpec, project_dir: Path) -> AgentProfile:
    """What the registry stores of an agent file (its hash says when to refresh)."""
    source = spec.path if spec.path is not None else Path("api")
    with contextlib.suppress(ValueError):
        source = source.relative_to(project_dir)
    digest = hashlib.sha256(spec.model_dump_json().encode()).hexdigest()
    return AgentProfile(
        name=spec.name,
        source=str(source),
        spec_hash=digest,
        description=spec.description,
        capabilities=spec.capabilities,
        complexity_min=spec.complexity.min,
        complexity_max=spec.complexity.max,
        max_tasks=spec.max_tasks,
        weight=spec.weight,
        model=spec.model,
    )


def task_run_id(task_id: str, attempt: int) -> RunId:
    """The run of one attempt of a task: derived, so creating it twice is harmless."""
    return RunId(hashlib.sha256(f"{task_id}:{attempt}".encode()).hexdigest()[:32])


def task_workflow(task: TaskRow, agent: AgentSpec, project_dir: Path) -> WorkflowSpec:
    """The one-step DAG of a task without a workflow: the agent does what it says.

    Title and description reach the instruction as inputs, never pasted into it, so a
    ``${…}`` a user wrote in a task is text, not a variable."""
    instruction = (
        "You have been assigned a task.\n\nTitle: ${TaskTitle}\n\n${TaskDescription}\n\n"
        "Do the work with your tools. Report each phase you enter (design, build, test, "
        "review) with the `task.update` tool if you have it. End with a short summary "
        "of what you did."
    )
    return WorkflowSpec(
        name=f"task-{task.id[:8]}",
        description=task.title,
        inputs=(
            InputSpec(name="TaskTitle", required=True),
            InputSpec(name="TaskDescription", default=""),
        ),
        steps=(
            StepSpec(
                id=TASK_STEP,
                agent_name=agent.name,
                instruction=instruction,
                input_vars=("TaskTitle", "TaskDescription"),
                output_vars=(RESULT_VAR,),
            ),
        ),
        agents={agent.name: agent},
        path=project_dir / "tasks" / f"{task.id}.task",
        source_hash=hashlib.sha256(agent.model_dump_json().encode()).hexdigest(),
    )
