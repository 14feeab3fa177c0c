// The agents as workers of the task queue, polled while the tab is visible: the list, then
// each one's detail (sessions and success rate live only there). Like useTasks, the one
// place to change when the WebSocket `agents` channel arrives.
import { useSession } from "../api/auth";
import { getWorker, listWorkers } from "../api/team";
import type { WorkerDetail } from "../api/team";
import { usePolling } from "./usePolling";
import type { Polled } from "./usePolling";

export const WORKER_POLL_MS = 2000;

export function useWorkers(intervalMs = WORKER_POLL_MS): [Polled<WorkerDetail[]>, () => void] {
  const { client } = useSession();
  return usePolling(
    async () => {
      const workers = await listWorkers(client);
      return Promise.all(workers.map((w) => getWorker(client, w.name)));
    },
    intervalMs,
    [client],
  );
}

export function useWorker(name: string, intervalMs = WORKER_POLL_MS): [Polled<WorkerDetail>, () => void] {
  const { client } = useSession();
  return usePolling(() => getWorker(client, name), intervalMs, [client, name]);
}
