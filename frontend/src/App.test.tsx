import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { event, fakeHttp, fakeSocketServer } from "./test/fakeServer";
import type { FakeSocketServer } from "./test/fakeServer";
import { operator, run, viewer, workflow, workflowSummary } from "./test/fixtures";

let ws: FakeSocketServer;

beforeEach(() => {
  window.location.hash = "";
  ws = fakeSocketServer();
});

afterEach(() => {
  ws.stop();
  vi.unstubAllGlobals();
});

describe("App", () => {
  it("signs in, starts a run from the workflow page and shows it Running", async () => {
    const calls = fakeHttp({
      "GET /me": (call) =>
        call.auth === "Bearer good-key"
          ? operator
          : { status: 401, body: { error: { code: "unauthorized", message: "no key" } } },
      "GET /workflows": () => [workflowSummary],
      "GET /workflows/demo": () => workflow,
      "POST /runs": () => ({ status: 201, body: run("queued") }),
      "GET /runs/run-1": () => run("queued"),
    });
    const user = userEvent.setup();
    render(<App />);

    await user.type(await screen.findByLabelText("API key"), "good-key");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await user.click(await screen.findByRole("link", { name: /demo/ }));
    await user.type(await screen.findByLabelText(/Topic/), "bees");
    await user.click(screen.getByRole("button", { name: "Run" }));

    await waitFor(() => expect(window.location.hash).toBe("#/runs/run-1"));
    expect(calls.filter((c) => c.method === "POST")).toEqual([
      { method: "POST", path: "/runs", body: { workflow: "demo", inputs: { Topic: "bees" } }, auth: "Bearer good-key" },
    ]);
    expect(sessionStorage.getItem("orchestra.apiKey")).toBe("good-key");

    await waitFor(() => expect(screen.getByTestId("run-status")).toHaveTextContent("Queued"));
    await waitFor(() =>
      expect(ws.received).toContainEqual({ type: "subscribe", run_id: "run-1", after: 0 }),
    );
    ws.emit(event(1, "run_started", null, { workflow: "demo", inputs: { Topic: "bees" } }));
    ws.emit(event(2, "step_started", "research", { attempt: 1, agent: "researcher" }));
    await waitFor(() => expect(screen.getByTestId("run-status")).toHaveTextContent("Running"));
    expect(screen.getByRole("button", { name: "Cancel run" })).toBeInTheDocument();
    // The step list (the DAG's keyboard twin) shows the running step.
    expect(within(screen.getByRole("complementary", { name: "Steps" })).getByRole("button", { name: /research: Running/ })).toBeInTheDocument();
  });

  it("refuses a wrong key with a message that says what to do", async () => {
    fakeHttp({
      "GET /me": () => ({ status: 401, body: { error: { code: "unauthorized", message: "bad" } } }),
    });
    const user = userEvent.setup();
    render(<App />);
    await user.type(await screen.findByLabelText("API key"), "wrong");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("orchestra keys create");
    expect(sessionStorage.getItem("orchestra.apiKey")).toBeNull();
  });

  it("does not offer run actions to a viewer", async () => {
    sessionStorage.setItem("orchestra.apiKey", "viewer-key");
    window.location.hash = "#/runs/run-1";
    fakeHttp({
      "GET /me": () => viewer,
      "GET /runs/run-1": () => run("running"),
      "GET /workflows/demo": () => workflow,
    });
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("run-status")).toHaveTextContent("Running"));
    ws.emit(event(1, "run_started", null));
    ws.emit(event(2, "step_started", "research", { attempt: 1 }));
    ws.emit(event(3, "approval_requested", "research", {}));
    await waitFor(() => expect(screen.getByTestId("run-status")).toHaveTextContent("Waiting for approval"));
    expect(screen.queryByRole("button", { name: "Cancel run" })).not.toBeInTheDocument();
    const user = userEvent.setup();
    await user.click(within(screen.getByRole("complementary", { name: "Steps" })).getByRole("button", { name: /research/ }));
    expect(screen.getByTestId("step-panel")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Approve" })).not.toBeInTheDocument();
  });

  it("lets an operator approve a waiting step", async () => {
    sessionStorage.setItem("orchestra.apiKey", "op-key");
    window.location.hash = "#/runs/run-1";
    const calls = fakeHttp({
      "GET /me": () => operator,
      "GET /runs/run-1": () => run("running"),
      "GET /workflows/demo": () => workflow,
      "POST /runs/run-1/steps/research/approve": () => run("running"),
    });
    render(<App />);
    await waitFor(() => expect(ws.received).toContainEqual({ type: "subscribe", run_id: "run-1", after: 0 }));
    ws.emit(event(1, "step_started", "research", { attempt: 1 }));
    ws.emit(event(2, "approval_requested", "research", {}));
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "research" })); // the approval banner
    await user.type(screen.getByLabelText(/Approval reason/), "looks fine");
    await user.click(screen.getByRole("button", { name: "Approve" }));
    await waitFor(() =>
      expect(calls).toContainEqual({
        method: "POST",
        path: "/runs/run-1/steps/research/approve",
        body: { reason: "looks fine" },
        auth: "Bearer op-key",
      }),
    );
  });
});
