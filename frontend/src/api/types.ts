// The shapes of docs/api.md (v1). Clients ignore fields they do not know, so every
// type lists only what the UI reads; optional fields are the ones the contract allows to be null.

export type Timestamp = string | number;

export type Role = "viewer" | "operator" | "admin";

export interface Me {
  key_id: string | null;
  name: string | null;
  role: Role;
}

export interface Input {
  name: string;
  required: boolean;
  default: unknown;
  description: string | null;
}

export interface WorkflowSummary {
  name: string;
  description: string | null;
  steps: number;
  inputs: Input[];
}

export interface WorkflowStep {
  id: string;
  agent: string;
  model: string | null;
  inputs: string[];
  outputs: string[];
  dependencies: string[];
  retries: number | null;
  timeout_s: number | null;
  approval: unknown;
  when: string | null;
  line: number | null;
}

export interface Workflow {
  name: string;
  description: string | null;
  path: string | null;
  source_hash: string | null;
  on_failure: string | null;
  inputs: Input[];
  steps: WorkflowStep[];
  layers: string[][];
  edges: [string, string][];
  outputs: string[];
  /** The workflow file's Markdown (read-only); "" or absent when there is no file. */
  source?: string;
}

export type AgentState = "idle" | "active" | "error";

export interface Agent {
  name: string;
  model: string;
  description: string | null;
  tools: string[];
  skills: string[];
  capabilities: string[];
  state: AgentState;
  path: string | null;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_usd: number;
  calls: number;
}

export type RunStatus = "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled";

export type StepStatus = "pending" | "running" | "succeeded" | "failed" | "skipped" | "cancelled";

export interface ErrorInfo {
  code: string;
  message: string;
  /** The error's class name (`StepRejected` ...), when the server sends it. */
  type?: string;
  retryable?: boolean;
  /** A rejected approval: who rejected it, and why. */
  by?: string | null;
  reason?: string | null;
}

export interface RunSummary {
  id: string;
  workflow: string;
  status: RunStatus;
  /** ISO 8601 text or Unix seconds (the server sends seconds). */
  created_at: Timestamp | null;
  updated_at: Timestamp | null;
  finished_at: Timestamp | null;
  duration_s: number | null;
  usage: Usage | null;
}

export interface Approval {
  requested_at: Timestamp | null;
  decision: "approved" | "rejected" | null;
  decided_by: string | null;
  reason: string | null;
}

export interface RunStep {
  id: string;
  status: StepStatus;
  attempt: number;
  outputs: Record<string, unknown> | null;
  usage: Usage | null;
  error: ErrorInfo | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  approval: Approval | null;
}

export interface Run extends RunSummary {
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown> | null;
  error: ErrorInfo | null;
  source_hash: string | null;
  steps: RunStep[];
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type EventType =
  | "run_started"
  | "step_started"
  | "agent_thought"
  | "token"
  | "tool_call"
  | "tool_result"
  | "log"
  | "step_complete"
  | "step_failed"
  | "approval_requested"
  | "run_finished"
  | "error";

export interface RunEvent {
  type: EventType | string;
  timestamp: number | string;
  run_id: string;
  step_id: string | null;
  seq: number;
  content: Record<string, unknown>;
}

export interface EventsPage {
  items: RunEvent[];
  last_seq: number;
}

/** Messages the server sends on /api/v1/ws. */
export type ServerMessage =
  | { type: "event"; event: RunEvent }
  | { type: "subscribed"; run_id: string; after: number }
  | { type: "ping"; t: number }
  | { type: "error"; code: string; message: string };
