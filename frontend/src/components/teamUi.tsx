// Pieces the task and agent pages share: badges for task statuses and worker states (their
// own colours, so the run badges in ui.tsx stay as they are), and small number formats.
import type { TaskStatus, WorkerSession, WorkerState } from "../api/team";

const TASK_COLOURS: Record<TaskStatus, string> = {
  queued: "bg-slate-600 text-slate-100",
  assigned: "bg-sky-700 text-white",
  design: "bg-indigo-600 text-white",
  build: "bg-yellow-400 text-slate-950",
  test: "bg-amber-500 text-slate-950",
  review: "bg-purple-600 text-white",
  complete: "bg-green-600 text-white",
  failed: "bg-red-600 text-white",
  cancelled: "bg-slate-700 text-slate-300",
};

const WORKER_COLOURS: Record<WorkerState, string> = {
  idle: "bg-slate-600 text-slate-100",
  busy: "bg-yellow-400 text-slate-950",
  paused: "bg-purple-600 text-white",
  error: "bg-red-600 text-white",
  offline: "bg-slate-800 text-slate-400 ring-1 ring-slate-600",
  retired: "bg-slate-700 text-slate-300",
};

export function title(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function Badge({ text, colours, testId }: { text: string; colours: string | undefined; testId?: string }) {
  return (
    <span
      data-testid={testId}
      data-status={text}
      className={`inline-block rounded px-2 py-0.5 text-xs font-semibold ${colours ?? "bg-slate-700 text-slate-200"}`}
    >
      {title(text)}
    </span>
  );
}

export function TaskBadge({ status, testId }: { status: TaskStatus; testId?: string }) {
  return <Badge text={status} colours={TASK_COLOURS[status]} testId={testId} />;
}

export function WorkerBadge({ state, testId }: { state: WorkerState; testId?: string }) {
  return <Badge text={state} colours={WORKER_COLOURS[state]} testId={testId} />;
}

export function successRate(succeeded: number, ended: number): string {
  if (ended === 0) return "—";
  return `${Math.round((100 * succeeded) / ended)}% (${succeeded}/${ended})`;
}

export function sessionTokens(sessions: readonly WorkerSession[]): number {
  return sessions.reduce((sum, s) => sum + s.prompt_tokens + s.completion_tokens, 0);
}

export function sessionCost(sessions: readonly WorkerSession[]): number {
  return sessions.reduce((sum, s) => sum + s.cost_usd, 0);
}

export function canPause(state: WorkerState): boolean {
  return state === "idle" || state === "busy";
}

export function canResume(state: WorkerState): boolean {
  return state === "paused" || state === "error" || state === "offline";
}

export const FIELD =
  "w-full rounded border border-slate-600 bg-slate-900 px-2 py-1 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400 aria-[invalid=true]:border-red-500";

export const LINK =
  "text-sky-300 underline focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400";
