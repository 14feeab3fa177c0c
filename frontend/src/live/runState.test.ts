import { describe, expect, it } from "vitest";
import type { Run } from "../api/types";
import { event } from "../test/fakeServer";
import { describeError, initialRunState, isRejection, liveTokens, runReducer } from "./runState";

const apply = (events: ReturnType<typeof event>[], state = initialRunState("run-1")) =>
  runReducer(state, { type: "events", events });

describe("runReducer", () => {
  it("folds a run's lifecycle into run and step states", () => {
    const state = apply([
      event(1, "run_started", null, { workflow: "w", inputs: {} }),
      event(2, "step_started", "a", { attempt: 1, agent: "analyst" }),
      event(3, "tool_call", "a", { tool: "files.read", arguments: { path: "x" }, call_id: "c1" }),
      event(4, "tool_result", "a", { tool: "files.read", call_id: "c1", result: "hi", error: null }),
      event(5, "step_complete", "a", { outputs: { Report: "done" }, usage: { total_tokens: 7 } }),
      event(6, "step_started", "b", { attempt: 1, agent: "writer" }),
    ]);
    expect(state.status).toBe("running");
    expect(state.steps.a.phase).toBe("succeeded");
    expect(state.steps.a.outputs).toEqual({ Report: "done" });
    expect(state.steps.a.usage?.total_tokens).toBe(7);
    expect(state.steps.a.toolCalls).toEqual([
      { callId: "c1", tool: "files.read", arguments: { path: "x" }, result: "hi", error: undefined, done: true },
    ]);
    expect(state.steps.b.phase).toBe("running");
    expect(state.lastSeq).toBe(6);
  });

  it("drops events it has already applied (replay after a reconnect)", () => {
    const first = apply([
      event(1, "run_started", null),
      event(2, "step_started", "a", { attempt: 1 }),
      event(3, "tool_call", "a", { tool: "t", call_id: "c1" }),
    ]);
    // The server replays from an older seq: 2 and 3 again, then the new 4.
    const second = apply(
      [
        event(2, "step_started", "a", { attempt: 1 }),
        event(3, "tool_call", "a", { tool: "t", call_id: "c1" }),
        event(4, "tool_call", "a", { tool: "t", call_id: "c2" }),
      ],
      first,
    );
    expect(second.steps.a.toolCalls.map((c) => c.callId)).toEqual(["c1", "c2"]);
    expect(second.eventCount).toBe(4);
    expect(second.lastSeq).toBe(4);
    // A batch made only of duplicates changes nothing at all.
    expect(apply([event(4, "tool_call", "a", { call_id: "c2" })], second)).toBe(second);
  });

  it("replaces only the step an event touched", () => {
    const before = apply([
      event(1, "step_started", "a", { attempt: 1 }),
      event(2, "step_started", "b", { attempt: 1 }),
    ]);
    const after = apply([event(3, "step_complete", "b", { outputs: {} })], before);
    expect(after.steps.a).toBe(before.steps.a);
    expect(after.steps.b).not.toBe(before.steps.b);
    expect(after.steps.b.phase).toBe("succeeded");
  });

  it("shows approval waits and retries", () => {
    const state = apply([
      event(1, "step_started", "a", { attempt: 1 }),
      event(2, "step_failed", "a", { error: { code: "timeout", message: "slow" }, attempt: 1, will_retry: true }),
      event(3, "step_started", "b", { attempt: 1 }),
      event(4, "approval_requested", "b", {}),
    ]);
    expect(state.steps.a.phase).toBe("running");
    expect(state.steps.a.willRetry).toBe(true);
    expect(state.steps.b.phase).toBe("waiting");
    expect(state.status).toBe("waiting");
    const failed = apply(
      [event(5, "step_failed", "a", { error: { code: "timeout", message: "slow" }, attempt: 2, will_retry: false })],
      state,
    );
    expect(failed.steps.a.phase).toBe("failed");
    expect(failed.steps.a.error).toEqual({ code: "timeout", message: "slow" });
  });

  it("takes the final status and outputs from run_finished", () => {
    const state = apply([
      event(1, "run_started", null),
      event(2, "run_finished", null, { status: "succeeded", outputs: { Guide: "g" }, error: null }),
    ]);
    expect(state.status).toBe("succeeded");
    expect(state.outputs).toEqual({ Guide: "g" });
  });

  it("ignores events of other runs", () => {
    const state = apply([event(1, "run_started", null, {}, "run-2")]);
    expect(state.status).toBeNull();
    expect(state.eventCount).toBe(0);
  });

  it("lets a snapshot fill steps without events but not overwrite newer live state", () => {
    const live = apply([event(1, "run_started", null), event(2, "step_started", "a", { attempt: 1 })]);
    const run: Run = {
      id: "run-1",
      workflow: "w",
      status: "running",
      created_at: null,
      updated_at: null,
      finished_at: null,
      duration_s: null,
      usage: null,
      inputs: {},
      outputs: null,
      error: null,
      source_hash: null,
      steps: [
        { id: "a", status: "pending", attempt: 0, outputs: null, usage: null, error: null, started_at: null, finished_at: null, approval: null },
        { id: "b", status: "pending", attempt: 0, outputs: null, usage: null, error: null, started_at: null, finished_at: null, approval: null },
      ],
    };
    const merged = runReducer(live, { type: "snapshot", run });
    expect(merged.steps.a.phase).toBe("running"); // the event is newer than the snapshot
    expect(merged.steps.b.phase).toBe("pending");
    expect(merged.run).toBe(run);

    const final = runReducer(merged, {
      type: "snapshot",
      run: {
        ...run,
        status: "cancelled",
        steps: [
          { ...run.steps[0], status: "cancelled" },
          { ...run.steps[1], status: "skipped" },
        ],
      },
    });
    expect(final.status).toBe("cancelled");
    expect(final.steps.a.phase).toBe("cancelled");
    expect(final.steps.b.phase).toBe("skipped");
  });

  it("starts from nothing when reset for another run id", () => {
    const first = apply([event(1, "run_started", null), event(2, "step_started", "a", { attempt: 1 })]);
    const reset = runReducer(first, { type: "reset", runId: "run-2" });
    expect(reset.runId).toBe("run-2");
    expect(reset.steps).toEqual({});
    expect(reset.run).toBeNull();
    // The new run's events count: before, they were dropped as "another run's".
    const next = runReducer(reset, {
      type: "events",
      events: [{ ...event(1, "run_started", null), run_id: "run-2" }],
    });
    expect(next.eventCount).toBe(1);
    expect(next.status).toBe("running");
  });

  it("ignores a late snapshot of the run shown before", () => {
    const state = initialRunState("run-2");
    const late = { id: "run-1", status: "running", steps: [] } as unknown as Run;
    expect(runReducer(state, { type: "snapshot", run: late })).toBe(state);
  });

  it("counts streamed tokens until the step reports its usage", () => {
    const streaming = apply([
      event(1, "step_started", "a", { attempt: 1 }),
      event(2, "token", "a", { text: "a" }),
      event(3, "token", "a", { text: "b" }),
      event(4, "token", "a", { text: "c" }),
    ]);
    expect(liveTokens(streaming)).toBe(3);
    const done = apply([event(5, "step_complete", "a", { outputs: {}, usage: { total_tokens: 40 } })], streaming);
    expect(liveTokens(done)).toBe(40);
  });

  it("keeps who rejected a step and why", () => {
    const state = apply([
      event(1, "approval_requested", "a", {}),
      event(2, "step_failed", "a", {
        will_retry: false,
        error: { type: "StepRejected", code: "rejected", message: "rejected by bob: no", retryable: false, by: "bob", reason: "no" },
      }),
    ]);
    const error = state.steps.a.error;
    expect(isRejection(error)).toBe(true);
    expect(error && describeError(error)).toBe("rejected by bob: no");
  });

  it("records when a step started and finished, for its duration", () => {
    const state = apply([
      { ...event(1, "step_started", "a", { attempt: 2 }), timestamp: 100 },
      { ...event(2, "step_complete", "a", { outputs: {} }), timestamp: 103.5 },
    ]);
    expect(state.steps.a.startedAt).toBe(100);
    expect(state.steps.a.finishedAt).toBe(103.5);
    expect(state.steps.a.attempt).toBe(2);
  });
});
