import { act, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import type { RunEvent } from "../api/types";
import { EventLog } from "../live/useRunStream";
import { event, fakeHttp, fakeSocketServer } from "../test/fakeServer";
import type { FakeSocketServer } from "../test/fakeServer";
import { operator, run, workflow } from "../test/fixtures";
import { Terminal } from "./Terminal";

let ws: FakeSocketServer;

beforeEach(() => {
  ws = fakeSocketServer();
  sessionStorage.setItem("orchestra.apiKey", "op-key");
  window.location.hash = "#/runs/run-1";
  fakeHttp({
    "GET /me": () => operator,
    "GET /runs/run-1": () => run("running"),
    "GET /workflows/demo": () => workflow,
  });
});

afterEach(() => {
  ws.stop();
  vi.unstubAllGlobals();
});

async function subscribed() {
  await waitFor(() =>
    expect(ws.received).toContainEqual({ type: "subscribe", run_id: "run-1", after: 0 }),
  );
}

describe("Terminal", () => {
  it("shows a log event sent by the server over the WebSocket", async () => {
    render(<App />);
    await subscribed();
    ws.emit(event(1, "log", "research", { level: "info", message: "fetched 3 pages about bees" }));
    await waitFor(() =>
      expect(screen.getByRole("log", { name: "Run log" })).toHaveTextContent(
        "[research] info: fetched 3 pages about bees",
      ),
    );
  });

  it("renders a 10,000-event run: every event applied, the log bounded, nodes final", async () => {
    render(<App />);
    await subscribed();
    const events: RunEvent[] = [event(1, "run_started", null)];
    events.push(event(2, "step_started", "research", { attempt: 1, agent: "researcher" }));
    let seq = 2;
    while (seq < 9_996) {
      seq += 1;
      events.push(
        seq % 10 === 0
          ? event(seq, "tool_call", "research", { tool: "web.search", arguments: { q: seq }, call_id: `c${seq}` })
          : event(seq, "agent_thought", "research", { text: `thought ${seq}` }),
      );
    }
    events.push(event(9_997, "step_complete", "research", { outputs: { Notes: "n" } }));
    events.push(event(9_998, "step_started", "write", { attempt: 1, agent: "writer" }));
    events.push(event(9_999, "step_complete", "write", { outputs: { Article: "the final article" } }));
    events.push(event(10_000, "run_finished", null, { status: "succeeded", outputs: { Article: "the final article" } }));
    const started = performance.now();
    act(() => {
      for (const e of events) ws.emit(e);
    });
    await waitFor(() => expect(screen.getByTestId("event-count")).toHaveTextContent("10000"));
    console.log(`10,000 events applied and drawn in ${Math.round(performance.now() - started)} ms (jsdom)`);
    const log = screen.getByRole("log", { name: "Run log" });
    expect(log.childElementCount).toBeLessThanOrEqual(400);
    expect(log).toHaveTextContent("Article: the final article");
    // React Flow applies node changes through its own store, a render after the state
    // that the event count shows: the nodes reach their final phase a moment later.
    await waitFor(() =>
      expect(screen.getByTestId("dag-node-research")).toHaveAttribute("data-phase", "succeeded"),
    );
    await waitFor(() =>
      expect(screen.getByTestId("dag-node-write")).toHaveAttribute("data-phase", "succeeded"),
    );
  });

  it("writes events appended to its log, and clears on reset", async () => {
    const log = new EventLog();
    log.append([event(1, "agent_thought", "a", { text: "already there" })]);
    render(<Terminal log={log} />);
    const mirror = screen.getByRole("log", { name: "Run log" });
    expect(mirror).toHaveTextContent("already there");
    act(() => log.append([event(2, "token", "a", { text: "str" }), event(3, "token", "a", { text: "eam" })]));
    expect(mirror).toHaveTextContent("stream");
    act(() => log.reset());
    expect(mirror).toBeEmptyDOMElement();
  });
});
