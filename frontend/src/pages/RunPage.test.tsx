// The run page against the fake server: per-run state, live figures and failure reading.
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { event, fakeHttp, fakeSocketServer } from "../test/fakeServer";
import type { FakeSocketServer } from "../test/fakeServer";
import { operator, run, workflow } from "../test/fixtures";

let ws: FakeSocketServer;

beforeEach(() => {
  sessionStorage.setItem("orchestra.apiKey", "op-key");
  window.location.hash = "#/runs/run-1";
  ws = fakeSocketServer();
});

afterEach(() => {
  ws.stop();
  vi.unstubAllGlobals();
});

const steps = () => screen.getByRole("complementary", { name: "Steps" });

describe("RunPage", () => {
  it("starts clean when the address changes to another run", async () => {
    fakeHttp({
      "GET /me": () => operator,
      "GET /runs/run-1": () => run("running", "run-1"),
      "GET /runs/run-2": () => run("running", "run-2"),
      "GET /workflows/demo": () => workflow,
    });
    render(<App />);
    await waitFor(() => expect(ws.received).toContainEqual({ type: "subscribe", run_id: "run-1", after: 0 }));
    ws.emit(event(1, "run_started", null, {}, "run-1"));
    ws.emit(event(2, "step_started", "research", { attempt: 1, agent: "researcher" }, "run-1"));
    await waitFor(() => expect(screen.getByTestId("event-count")).toHaveTextContent("2"));
    const user = userEvent.setup();
    await user.click(within(steps()).getByRole("button", { name: /research/ }));
    expect(screen.getByTestId("step-panel")).toBeInTheDocument();

    window.location.hash = "#/runs/run-2"; // typed into the address bar, or back/forward
    await waitFor(() => expect(ws.received).toContainEqual({ type: "subscribe", run_id: "run-2", after: 0 }));
    expect(screen.queryByTestId("step-panel")).not.toBeInTheDocument();
    ws.emit(event(1, "run_started", null, {}, "run-2"));
    await waitFor(() => expect(screen.getByTestId("event-count")).toHaveTextContent("1"));
    expect(within(steps()).getByRole("button", { name: /research: Pending/ })).toBeInTheDocument();
  });

  it("counts tokens while an answer streams", async () => {
    fakeHttp({
      "GET /me": () => operator,
      "GET /runs/run-1": () => run("running"),
      "GET /workflows/demo": () => workflow,
    });
    render(<App />);
    await waitFor(() => expect(ws.received).toContainEqual({ type: "subscribe", run_id: "run-1", after: 0 }));
    ws.emit(event(1, "step_started", "research", { attempt: 1 }));
    for (let seq = 2; seq <= 6; seq++) ws.emit(event(seq, "token", "research", { text: "bee " }));
    await waitFor(() => expect(screen.getByTestId("token-count")).toHaveTextContent("5"));
  });

  it("reads a rejected step as rejected by whom and why, and offers no Resume", async () => {
    const failed = run("failed");
    const rejection = { type: "StepRejected", code: "rejected", message: "rejected by alice: too vague", retryable: false, by: "alice", reason: "too vague" };
    failed.error = { code: "step_failed", message: "step(s) failed: research" };
    failed.steps[0] = { ...failed.steps[0], status: "failed", error: rejection };
    fakeHttp({
      "GET /me": () => operator,
      "GET /runs/run-1": () => failed,
      "GET /workflows/demo": () => workflow,
    });
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("run-status")).toHaveTextContent("Failed"));
    ws.emit(event(1, "approval_requested", "research", {}));
    ws.emit(event(2, "step_failed", "research", { status: "failed", will_retry: false, error: rejection }));
    ws.emit(event(3, "run_finished", null, { status: "failed", outputs: {}, error: failed.error }));
    await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent("Step research rejected by alice: too vague"));
    expect(screen.queryByRole("button", { name: "Resume" })).not.toBeInTheDocument();
    const user = userEvent.setup();
    await user.click(within(steps()).getByRole("button", { name: /research/ }));
    expect(within(screen.getByTestId("step-panel")).getByRole("alert")).toHaveTextContent("rejected by alice: too vague");
    expect(screen.getByTestId("terminal-log")).toHaveTextContent("✖ step research rejected by alice: too vague");
  });

  it("still offers Resume for a step that broke", async () => {
    const failed = run("failed");
    failed.steps[0] = { ...failed.steps[0], status: "failed", error: { code: "step_failed", message: "boom" } };
    fakeHttp({
      "GET /me": () => operator,
      "GET /runs/run-1": () => failed,
      "GET /workflows/demo": () => workflow,
    });
    render(<App />);
    expect(await screen.findByRole("button", { name: "Resume" })).toBeInTheDocument();
  });

  it("filters the terminal to the step clicked, and back to all", async () => {
    fakeHttp({
      "GET /me": () => operator,
      "GET /runs/run-1": () => run("running"),
      "GET /workflows/demo": () => workflow,
    });
    render(<App />);
    await waitFor(() => expect(ws.received).toContainEqual({ type: "subscribe", run_id: "run-1", after: 0 }));
    ws.emit(event(1, "log", "research", { level: "info", message: "reading about bees" }));
    ws.emit(event(2, "log", "write", { level: "info", message: "writing the article" }));
    const log = () => screen.getByTestId("terminal-log");
    await waitFor(() => expect(log()).toHaveTextContent("writing the article"));
    const user = userEvent.setup();
    await user.click(within(steps()).getByRole("button", { name: /research/ }));
    await waitFor(() => expect(log()).not.toHaveTextContent("writing the article"));
    expect(log()).toHaveTextContent("reading about bees");
    await user.click(screen.getByRole("button", { name: "Show all steps" }));
    await waitFor(() => expect(log()).toHaveTextContent("writing the article"));
  });

  it("re-runs with edited inputs", async () => {
    const done = run("succeeded");
    const calls = fakeHttp({
      "GET /me": () => operator,
      "GET /runs/run-1": () => done,
      "GET /runs/run-2": () => run("queued", "run-2"),
      "GET /workflows/demo": () => workflow,
      "POST /runs": () => ({ status: 201, body: run("queued", "run-2") }),
    });
    render(<App />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Re-run" }));
    const topic = screen.getByLabelText("Topic");
    expect(topic).toHaveValue("bees");
    await user.clear(topic);
    await user.type(topic, "wasps");
    await user.click(screen.getByRole("button", { name: "Start run" }));
    await waitFor(() => expect(window.location.hash).toBe("#/runs/run-2"));
    expect(calls.filter((c) => c.method === "POST")).toEqual([
      { method: "POST", path: "/runs", body: { workflow: "demo", inputs: { Topic: "wasps" } }, auth: "Bearer op-key" },
    ]);
  });

  it("shows the workflow's Markdown beside its graph, and outputs as Markdown", async () => {
    const done = run("succeeded");
    done.outputs = { Article: "# Bees\n\n- they **dance**" };
    fakeHttp({
      "GET /me": () => operator,
      "GET /runs/run-1": () => done,
      "GET /workflows/demo": () => ({ ...workflow, source: "# demo\n\n## Step: research\n" }),
    });
    render(<App />);
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Workflow source" }));
    expect(screen.getByTestId("workflow-source")).toHaveTextContent("## Step: research");
    const outputs = await screen.findByTestId("run-outputs");
    expect(within(outputs).getByRole("heading", { name: "Bees" })).toBeInTheDocument();
    expect(outputs.querySelector("strong")).toHaveTextContent("dance");
  });
});
