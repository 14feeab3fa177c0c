// Contract-shaped answers (docs/api.md) for the fake server.
import type { Run, Workflow, WorkflowSummary } from "../api/types";

export const workflowSummary: WorkflowSummary = {
  name: "demo",
  description: "Two steps on the scripted model",
  steps: 2,
  inputs: [{ name: "Topic", required: true, default: null, description: "What to write about" }],
};

export const workflow: Workflow = {
  name: "demo",
  description: "Two steps on the scripted model",
  path: "workflows/demo.workflow.md",
  source_hash: "abc",
  on_failure: "stop",
  inputs: workflowSummary.inputs,
  steps: [
    { id: "research", agent: "researcher", model: "scripted/echo", inputs: ["Topic"], outputs: ["Notes"], dependencies: [], retries: 0, timeout_s: null, approval: null, when: null, line: 5 },
    { id: "write", agent: "writer", model: "scripted/echo", inputs: ["Notes"], outputs: ["Article"], dependencies: ["research"], retries: 0, timeout_s: null, approval: null, when: null, line: 12 },
  ],
  layers: [["research"], ["write"]],
  edges: [["research", "write"]],
  outputs: ["Article"],
};

export function run(status: Run["status"] = "queued", id = "run-1"): Run {
  return {
    id,
    workflow: "demo",
    status,
    created_at: "2025-01-01T10:00:00Z",
    updated_at: "2025-01-01T10:00:00Z",
    finished_at: null,
    duration_s: null,
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cost_usd: 0, calls: 0 },
    inputs: { Topic: "bees" },
    outputs: null,
    error: null,
    source_hash: "abc",
    steps: workflow.steps.map((s) => ({
      id: s.id,
      status: "pending" as const,
      attempt: 0,
      outputs: null,
      usage: null,
      error: null,
      started_at: null,
      finished_at: null,
      approval: null,
    })),
  };
}

export const operator = { key_id: "key-1", name: "ci", role: "operator" as const };
export const viewer = { key_id: "key-2", name: "watcher", role: "viewer" as const };
