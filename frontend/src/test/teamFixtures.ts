// Contract-shaped tasks and workers (the bodies of /api/v1/tasks and /api/v1/workers).
import type { Task, TaskDetail, TaskStatus, WorkerDetail } from "../api/team";

let clock = 1_800_000_000;

export function task(overrides: Partial<Task> & { status?: TaskStatus } = {}): Task {
  clock += 1;
  return {
    id: `task-${clock}`,
    title: "Write a haiku",
    description: "about bees",
    complexity: 5,
    capabilities: [],
    priority: 5,
    workflow: null,
    inputs: {},
    idempotency_key: null,
    status: "queued",
    agent: null,
    run_id: null,
    attempts: 0,
    max_attempts: 3,
    wait_reason: null,
    error: null,
    created_by: "ci",
    created_at: clock,
    updated_at: clock,
    assigned_at: null,
    finished_at: null,
    ...overrides,
  };
}

export function taskDetail(overrides: Partial<TaskDetail> = {}): TaskDetail {
  return { ...task(overrides), updates: [], ...overrides };
}

export function worker(overrides: Partial<WorkerDetail> = {}): WorkerDetail {
  return {
    name: "researcher",
    description: "Researches one angle of a topic.",
    capabilities: ["research"],
    complexity: [1, 7],
    max_tasks: 2,
    weight: 1,
    model: "default",
    source: "agents/researcher.agent.md",
    state: "busy",
    active_tasks: 1,
    consecutive_failures: 0,
    last_active_at: 1_800_000_100,
    heartbeat_at: 1_800_000_100,
    registered_at: 1_800_000_000,
    updated_at: 1_800_000_100,
    transitions: [
      { at: 1_800_000_000, source: null, target: "idle", by: "project", reason: "registered" },
      { at: 1_800_000_050, source: "idle", target: "busy", by: "vm:1", reason: "took task t1" },
    ],
    sessions: [
      { id: "s1", task_id: "task-old", started_at: 1_800_000_010, ended_at: 1_800_000_020, outcome: "complete", prompt_tokens: 100, completion_tokens: 20, cost_usd: 0.001 },
      { id: "s2", task_id: "task-bad", started_at: 1_800_000_030, ended_at: 1_800_000_040, outcome: "failed", prompt_tokens: 50, completion_tokens: 5, cost_usd: 0 },
      { id: "s3", task_id: "task-now", started_at: 1_800_000_050, ended_at: null, outcome: null, prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 },
    ],
    succeeded: 1,
    ended: 2,
    current_tasks: ["task-now"],
    ...overrides,
  };
}
