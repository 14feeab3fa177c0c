// The tasks a run's steps handed to other agents with `delegate`: each is a task of the
// queue (its own page, its own run), listed under the step that delegated it. The run page
// polls them while the run is live and counts them on the step's DAG node.
import { Link } from "react-router-dom";
import type { Task } from "../api/team";
import { LINK, TaskBadge } from "./teamUi";

/** How many tasks each step delegated: the DAG nodes' "↳ N delegated" line. */
export function delegatedCounts(tasks: Task[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const task of tasks) {
    if (task.parent_step_id) counts[task.parent_step_id] = (counts[task.parent_step_id] ?? 0) + 1;
  }
  return counts;
}

export function DelegatedTasks({ tasks, step }: { tasks: Task[]; step: string | null }) {
  const shown = step === null ? tasks : tasks.filter((t) => t.parent_step_id === step);
  if (shown.length === 0) return null;
  return (
    <section aria-label="Delegated tasks" className="mt-4 text-sm">
      <h2 className="font-semibold">Delegated {step === null ? "by this run" : `by ${step}`}</h2>
      <ul>
        {shown.map((task) => (
          <li key={task.id} className="flex items-center gap-2 border-t border-slate-800 py-1" data-testid="delegated-task">
            <TaskBadge status={task.status} />
            <Link to={`/tasks/${encodeURIComponent(task.id)}`} className={`min-w-0 flex-1 truncate ${LINK}`}>
              {task.title}
            </Link>
            <span className="shrink-0 text-xs text-slate-400">
              {step === null && task.parent_step_id ? `${task.parent_step_id} → ` : "→ "}
              {task.agent ?? task.assignee ?? "unassigned"}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
