// Tasks and workers (docs/tasks.md): the task queue and the agents as registered workers.
// Kept apart from client.ts so the run pages and the team pages change independently; every
// call goes through ApiClient.request, so errors are the same ApiError.
import type { ApiClient } from "./client";

export type TaskStatus =
  | "queued"
  | "assigned"
  | "design"
  | "build"
  | "test"
  | "review"
  | "complete"
  | "failed"
  | "cancelled";

export type WorkerState = "idle" | "busy" | "paused" | "error" | "offline" | "retired";

export interface Task {
  id: string;
  title: string;
  description: string;
  complexity: number;
  capabilities: string[];
  priority: number;
  workflow: string | null;
  inputs: Record<string, string>;
  idempotency_key: string | null;
  status: TaskStatus;
  agent: string | null;
  run_id: string | null;
  attempts: number;
  max_attempts: number;
  /** Why a queued task is not assigned yet. */
  wait_reason: string | null;
  error: Record<string, unknown> | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  assigned_at: number | null;
  finished_at: number | null;
  /** The one agent that may take it (delegated by name). */
  assignee?: string | null;
  /** The run and step whose agent delegated it (`delegate`); null for a user's task. */
  parent_run_id?: string | null;
  parent_step_id?: string | null;
}

export interface TaskUpdate {
  id: number;
  at: number;
  /** "status" for a move, "note" for an agent's report or the service's remark. */
  kind: string;
  source: TaskStatus | null;
  target: TaskStatus | null;
  note: string;
  by: string;
}

export interface TaskDetail extends Task {
  updates: TaskUpdate[];
}

/** The body of POST /tasks; omitted fields take the server's defaults. */
export interface TaskDraft {
  title: string;
  description?: string;
  complexity?: number;
  capabilities?: string[];
  priority?: number;
  workflow?: string;
  inputs?: Record<string, string>;
}

export interface Worker {
  name: string;
  description: string;
  capabilities: string[];
  complexity: [number, number];
  max_tasks: number;
  weight: number;
  model: string;
  /** The agent file (project-relative), or "api". */
  source: string;
  state: WorkerState;
  active_tasks: number;
  consecutive_failures: number;
  last_active_at: number | null;
  heartbeat_at: number | null;
  registered_at: number;
  updated_at: number;
}

export interface WorkerTransition {
  at: number;
  source: WorkerState | null;
  target: WorkerState;
  by: string;
  reason: string;
}

export interface WorkerSession {
  id: string;
  task_id: string;
  started_at: number;
  ended_at: number | null;
  outcome: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

export interface WorkerDetail extends Worker {
  transitions: WorkerTransition[];
  sessions: WorkerSession[];
  succeeded: number;
  ended: number;
  current_tasks: string[];
}

const id = encodeURIComponent;

export const TASK_PAGE = 500;

export function listTasks(client: ApiClient, limit = TASK_PAGE): Promise<Task[]> {
  return client
    .request<{ items: Task[] }>("GET", `/tasks?limit=${limit}`)
    .then((page) => page.items);
}

export function getTask(client: ApiClient, taskId: string): Promise<TaskDetail> {
  return client.request("GET", `/tasks/${id(taskId)}`);
}

export interface TaskFiles {
  workspace: string;
  files: { path: string; size: number }[];
}

export function getTaskFiles(client: ApiClient, taskId: string): Promise<TaskFiles> {
  return client.request("GET", `/tasks/${id(taskId)}/files`);
}

export type WorkspaceKind = "tasks" | "runs";

export interface WorkspaceListing {
  kind: WorkspaceKind;
  id: string;
  files: { path: string; size: number }[];
}

const filePath = (path: string) => path.split("/").map(id).join("/");

/** The files of a task's or a run's workspace (`/workspaces/...`, the same for both kinds). */
export function listWorkspace(client: ApiClient, kind: WorkspaceKind, itemId: string): Promise<WorkspaceListing> {
  return client.request("GET", `/workspaces/${kind}/${id(itemId)}/files`);
}

export async function downloadWorkspaceFile(
  client: ApiClient,
  kind: WorkspaceKind,
  itemId: string,
  path: string,
): Promise<Blob> {
  return (await client.raw("GET", `/workspaces/${kind}/${id(itemId)}/files/${filePath(path)}`)).blob();
}

export async function uploadWorkspaceFile(
  client: ApiClient,
  kind: WorkspaceKind,
  itemId: string,
  path: string,
  file: Blob,
): Promise<{ path: string; size: number; content_type: string }> {
  return (await client.raw("PUT", `/workspaces/${kind}/${id(itemId)}/files/${filePath(path)}`, file)).json();
}

/** The tasks the steps of a run handed to other agents (`delegate`), each naming its step. */
export function listDelegated(client: ApiClient, runId: string): Promise<Task[]> {
  return client
    .request<{ items: Task[] }>("GET", `/tasks?parent_run=${id(runId)}&limit=${TASK_PAGE}`)
    .then((page) => page.items);
}

export function createTask(client: ApiClient, draft: TaskDraft): Promise<Task> {
  return client.request("POST", "/tasks", draft);
}

export function cancelTask(client: ApiClient, taskId: string): Promise<Task> {
  return client.request("POST", `/tasks/${id(taskId)}/cancel`);
}

export function retryTask(client: ApiClient, taskId: string): Promise<Task> {
  return client.request("POST", `/tasks/${id(taskId)}/retry`);
}

export function listWorkers(client: ApiClient): Promise<Worker[]> {
  return client.request<{ items: Worker[] }>("GET", "/workers").then((page) => page.items);
}

export function getWorker(client: ApiClient, name: string): Promise<WorkerDetail> {
  return client.request("GET", `/workers/${id(name)}`);
}

export function moveWorker(
  client: ApiClient,
  name: string,
  action: "pause" | "resume",
  reason = "",
): Promise<Worker> {
  return client.request("POST", `/workers/${id(name)}/${action}`, { reason });
}

export const FINAL_STATUSES: readonly TaskStatus[] = ["complete", "failed", "cancelled"];

export function isFinal(status: TaskStatus): boolean {
  return FINAL_STATUSES.includes(status);
}
