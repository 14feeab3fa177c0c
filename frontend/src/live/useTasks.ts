// The one place the task board gets its data. Today it polls GET /tasks (every second while
// the tab is visible); when the WebSocket `tasks` channel exists, only this hook changes:
// the pages keep receiving a list of tasks and a refresh function.
import { useSession } from "../api/auth";
import { getTask, listTasks } from "../api/team";
import type { Task, TaskDetail } from "../api/team";
import { usePolling } from "./usePolling";
import type { Polled } from "./usePolling";

export const TASK_POLL_MS = 1000;

export function useTasks(intervalMs = TASK_POLL_MS): [Polled<Task[]>, () => void] {
  const { client } = useSession();
  return usePolling(() => listTasks(client), intervalMs, [client]);
}

export function useTask(id: string, intervalMs = TASK_POLL_MS): [Polled<TaskDetail>, () => void] {
  const { client } = useSession();
  return usePolling(() => getTask(client, id), intervalMs, [client, id]);
}
