// The live state of one run, folded from its event stream. The reducer is the single place
// that interprets events for the DAG and the step panel:
//  * events are applied once: anything with seq <= lastSeq is a duplicate (a replay after a
//    reconnect, or the REST snapshot racing the socket) and is dropped;
//  * an event touches only its own step: every other step object keeps its identity, so the
//    memoised DAG nodes and panels of unchanged steps do not re-render;
//  * a REST snapshot (GET /runs/{id}) fills what events do not carry (skipped steps, final
//    usage) without overwriting newer event-derived state.
import type { ErrorInfo, Run, RunEvent, RunStatus, Usage } from "../api/types";

/** Step colours on the DAG: the contract's step states plus the approval wait. */
export type StepPhase =
  | "pending"
  | "running"
  | "waiting"
  | "succeeded"
  | "failed"
  | "skipped"
  | "cancelled";

export interface ToolCallView {
  callId: string;
  tool: string;
  arguments: unknown;
  result?: unknown;
  error?: unknown;
  done: boolean;
}

export interface StepView {
  id: string;
  phase: StepPhase;
  attempt: number;
  agent: string | null;
  outputs: Record<string, unknown> | null;
  usage: Usage | null;
  error: ErrorInfo | null;
  toolCalls: ToolCallView[];
  /** How many agent_thought/token events the step produced (the text itself is in the terminal). */
  thoughts: number;
  /** Streamed `token` events of the current attempt: the live token count until usage arrives. */
  streamedTokens: number;
  /** When the current attempt started and settled (event timestamps, seconds). */
  startedAt: number | null;
  finishedAt: number | null;
  willRetry: boolean;
  approvalDecision: string | null;
  /** Set once an event has described this step: snapshots then no longer override it. */
  fromEvents: boolean;
}

export interface RunState {
  runId: string;
  status: RunStatus | null;
  run: Run | null;
  steps: Record<string, StepView>;
  lastSeq: number;
  eventCount: number;
  outputs: Record<string, unknown> | null;
  error: ErrorInfo | null;
}

export type RunAction =
  | { type: "events"; events: RunEvent[] }
  | { type: "snapshot"; run: Run }
  | { type: "reset"; runId?: string };

export function initialRunState(runId: string): RunState {
  return {
    runId,
    status: null,
    run: null,
    steps: {},
    lastSeq: 0,
    eventCount: 0,
    outputs: null,
    error: null,
  };
}

function emptyStep(id: string): StepView {
  return {
    id,
    phase: "pending",
    attempt: 0,
    agent: null,
    outputs: null,
    usage: null,
    error: null,
    toolCalls: [],
    thoughts: 0,
    streamedTokens: 0,
    startedAt: null,
    finishedAt: null,
    willRetry: false,
    approvalDecision: null,
    fromEvents: false,
  };
}

const TERMINAL_RUN: ReadonlySet<string> = new Set(["succeeded", "failed", "cancelled"]);

export function isFinished(status: RunStatus | null): boolean {
  return status !== null && TERMINAL_RUN.has(status);
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

function asError(value: unknown): ErrorInfo | null {
  if (typeof value === "string" && value !== "") return { code: "error", message: value };
  const record = asRecord(value);
  if (record === null) return null;
  const info: ErrorInfo = {
    code: String(record.code ?? record.type ?? "error"),
    message: String(record.message ?? ""),
  };
  if (typeof record.type === "string") info.type = record.type;
  if (typeof record.retryable === "boolean") info.retryable = record.retryable;
  if ("by" in record) info.by = record.by === null ? null : String(record.by);
  if ("reason" in record) info.reason = record.reason === null ? null : String(record.reason);
  return info;
}

/** A step that failed because a reviewer rejected its approval (not because it broke). */
export function isRejection(error: ErrorInfo | null | undefined): boolean {
  return !!error && (error.code === "rejected" || error.type === "StepRejected");
}

/** How a step's error reads: "rejected by X: reason" for a rejection, else "code: message". */
export function describeError(error: ErrorInfo): string {
  if (isRejection(error)) {
    const reason = error.reason ? `: ${error.reason}` : "";
    return `rejected by ${error.by || "a reviewer"}${reason}`;
  }
  return error.message ? `${error.code}: ${error.message}` : error.code;
}

/** Seconds since the epoch of an event's or snapshot's timestamp, or null. */
export function toSeconds(value: number | string | null | undefined): number | null {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return value;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? null : ms / 1000;
}

function asUsage(value: unknown): Usage | null {
  const record = asRecord(value);
  if (record === null) return null;
  return {
    prompt_tokens: Number(record.prompt_tokens ?? 0),
    completion_tokens: Number(record.completion_tokens ?? 0),
    total_tokens: Number(
      record.total_tokens ?? Number(record.prompt_tokens ?? 0) + Number(record.completion_tokens ?? 0),
    ),
    cost_usd: Number(record.cost_usd ?? 0),
    calls: Number(record.calls ?? 0),
  };
}

/** The new version of one step after one event, or the same object when nothing changed. */
function applyToStep(step: StepView, event: RunEvent): StepView {
  const c = event.content ?? {};
  switch (event.type) {
    case "step_started":
      return {
        ...step,
        phase: "running",
        attempt: Number(c.attempt ?? step.attempt + 1),
        agent: typeof c.agent === "string" ? c.agent : step.agent,
        error: null,
        willRetry: false,
        streamedTokens: 0,
        startedAt: toSeconds(event.timestamp),
        finishedAt: null,
        fromEvents: true,
      };
    case "agent_thought":
      return { ...step, thoughts: step.thoughts + 1, fromEvents: true };
    case "token":
      return {
        ...step,
        thoughts: step.thoughts + 1,
        // A restarted stream replaces the text before it, but its tokens were still spent.
        streamedTokens: step.streamedTokens + 1,
        fromEvents: true,
      };
    case "tool_call":
      return {
        ...step,
        toolCalls: [
          ...step.toolCalls,
          {
            callId: String(c.call_id ?? step.toolCalls.length),
            tool: String(c.tool ?? "?"),
            arguments: c.arguments,
            done: false,
          },
        ],
        fromEvents: true,
      };
    case "tool_result": {
      const callId = String(c.call_id ?? "");
      const index = step.toolCalls.findIndex((call) => call.callId === callId && !call.done);
      const finished: ToolCallView = {
        ...(index >= 0
          ? step.toolCalls[index]
          : { callId, tool: String(c.tool ?? "?"), arguments: undefined }),
        result: c.result,
        error: c.error ?? undefined,
        done: true,
      };
      const toolCalls =
        index >= 0
          ? step.toolCalls.map((call, i) => (i === index ? finished : call))
          : [...step.toolCalls, finished];
      return { ...step, toolCalls, fromEvents: true };
    }
    case "step_complete":
      return {
        ...step,
        phase: "succeeded",
        outputs: asRecord(c.outputs),
        usage: asUsage(c.usage) ?? step.usage,
        error: null,
        willRetry: false,
        finishedAt: toSeconds(event.timestamp),
        fromEvents: true,
      };
    case "step_failed": {
      const willRetry = Boolean(c.will_retry);
      return {
        ...step,
        phase: willRetry ? "running" : "failed",
        error: asError(c.error),
        attempt: Number(c.attempt ?? step.attempt),
        willRetry,
        finishedAt: willRetry ? step.finishedAt : toSeconds(event.timestamp),
        fromEvents: true,
      };
    }
    case "approval_requested":
      return { ...step, phase: "waiting", fromEvents: true };
    default:
      return step;
  }
}

function applyEvents(state: RunState, events: RunEvent[]): RunState {
  let { status, lastSeq, outputs, error, eventCount } = state;
  let steps = state.steps;
  let stepsCopied = false;
  for (const event of events) {
    if (event.run_id !== undefined && event.run_id !== state.runId) continue;
    if (event.seq <= lastSeq) continue; // duplicate from a replay
    lastSeq = event.seq;
    eventCount += 1;
    const c = event.content ?? {};
    switch (event.type) {
      case "run_started":
        status = "running";
        break;
      case "approval_requested":
        status = "waiting";
        break;
      case "step_started":
        if (status === "waiting" || status === "queued" || status === null) status = "running";
        break;
      case "run_finished":
        status = (typeof c.status === "string" ? c.status : "succeeded") as RunStatus;
        outputs = asRecord(c.outputs);
        error = asError(c.error);
        break;
      case "error":
        error = asError(c) ?? error;
        break;
    }
    if (event.step_id) {
      const before = steps[event.step_id] ?? emptyStep(event.step_id);
      const after = applyToStep(before, event);
      if (after !== before || !(event.step_id in steps)) {
        if (!stepsCopied) {
          steps = { ...steps };
          stepsCopied = true;
        }
        steps[event.step_id] = after;
      }
    }
  }
  if (lastSeq === state.lastSeq) return state;
  return { ...state, status, lastSeq, outputs, error, eventCount, steps };
}

const SNAPSHOT_PHASE: Record<string, StepPhase> = {
  pending: "pending",
  running: "running",
  succeeded: "succeeded",
  failed: "failed",
  skipped: "skipped",
  cancelled: "cancelled",
};

function applySnapshot(state: RunState, run: Run): RunState {
  // A late answer for the run the page showed before must not leak into this one.
  if (run.id !== undefined && run.id !== state.runId) return state;
  let steps = state.steps;
  let copied = false;
  const finished = isFinished(run.status);
  for (const snap of run.steps ?? []) {
    const before = steps[snap.id];
    let phase = SNAPSHOT_PHASE[snap.status] ?? "pending";
    if (snap.approval && snap.approval.requested_at && !snap.approval.decision && phase !== "failed")
      phase = "waiting";
    // Events are newer than a snapshot while the run is live; once the run is over the
    // snapshot is final (it knows about skipped and cancelled steps, which have no events).
    if (before?.fromEvents && !finished) {
      if (before.usage === null && snap.usage) {
        if (!copied) {
          steps = { ...steps };
          copied = true;
        }
        steps[snap.id] = { ...before, usage: snap.usage };
      }
      continue;
    }
    const base = before ?? emptyStep(snap.id);
    const after: StepView = {
      ...base,
      phase: before?.fromEvents && finished && isSettled(before.phase) ? before.phase : phase,
      attempt: snap.attempt ?? base.attempt,
      outputs: snap.outputs ?? base.outputs,
      usage: snap.usage ?? base.usage,
      error: asError(snap.error) ?? base.error,
      startedAt: toSeconds(snap.started_at) ?? base.startedAt,
      finishedAt: toSeconds(snap.finished_at) ?? base.finishedAt,
      approvalDecision: snap.approval?.decision ?? base.approvalDecision,
    };
    if (!copied) {
      steps = { ...steps };
      copied = true;
    }
    steps[snap.id] = after;
  }
  return {
    ...state,
    run,
    steps,
    // A finished snapshot is final; while live, event-derived status is newer than a snapshot.
    status: finished ? run.status : (state.status ?? run.status),
    outputs: finished ? (run.outputs ?? state.outputs) : state.outputs,
    error: asError(run.error) ?? state.error,
  };
}

/** Tokens the run has used so far: the snapshot's total, or the live count when larger. */
export function liveTokens(state: RunState): number {
  let live = 0;
  for (const step of Object.values(state.steps)) {
    live += step.usage && step.usage.total_tokens > 0 ? step.usage.total_tokens : step.streamedTokens;
  }
  return Math.max(state.run?.usage?.total_tokens ?? 0, live);
}

function isSettled(phase: StepPhase): boolean {
  return phase === "succeeded" || phase === "failed";
}

export function runReducer(state: RunState, action: RunAction): RunState {
  switch (action.type) {
    case "events":
      return applyEvents(state, action.events);
    case "snapshot":
      return applySnapshot(state, action.run);
    case "reset":
      // Another run (the page's id changed): nothing of the previous run may survive.
      if (action.runId !== undefined && action.runId !== state.runId) return initialRunState(action.runId);
      return { ...initialRunState(state.runId), run: state.run };
  }
}
