// The board's columns: one per task status, in the order a task moves through them. The
// phases an agent may report (design, build, test, review) are optional, so most boards
// never use them: an empty phase column collapses to a narrow rail instead of taking a
// full column's width. So does an empty "cancelled". Queued, assigned, complete and failed
// always stay open: they are where every task passes or ends.
import type { Task, TaskStatus } from "../api/team";

export const STATUS_ORDER: readonly TaskStatus[] = [
  "queued",
  "assigned",
  "design",
  "build",
  "test",
  "review",
  "complete",
  "failed",
  "cancelled",
];

const ALWAYS_OPEN: ReadonlySet<TaskStatus> = new Set(["queued", "assigned", "complete", "failed"]);

export interface Column {
  status: TaskStatus;
  tasks: Task[];
  /** Empty and optional: drawn as a narrow rail with its name and 0. */
  collapsed: boolean;
}

/** Queued tasks in the order the dispatcher takes them (priority, then age); the others
 * most recently moved first, so a card that just arrived is on top. */
function order(status: TaskStatus, tasks: Task[]): Task[] {
  const sorted = [...tasks];
  if (status === "queued") {
    sorted.sort((a, b) => b.priority - a.priority || a.created_at - b.created_at);
  } else {
    sorted.sort((a, b) => b.updated_at - a.updated_at);
  }
  return sorted;
}

export function groupTasks(tasks: readonly Task[]): Column[] {
  const by = new Map<TaskStatus, Task[]>(STATUS_ORDER.map((s) => [s, []]));
  for (const task of tasks) {
    // A status this UI does not know yet still shows, with the queued ones, not vanishes.
    (by.get(task.status) ?? by.get("queued")!).push(task);
  }
  return STATUS_ORDER.map((status) => {
    const list = by.get(status)!;
    return {
      status,
      tasks: order(status, list),
      collapsed: list.length === 0 && !ALWAYS_OPEN.has(status),
    };
  });
}
