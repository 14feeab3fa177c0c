import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import type { Agent } from "../api/types";
import type { WorkerDetail } from "../api/team";
import { fakeHttp } from "../test/fakeServer";
import { operator, viewer } from "../test/fixtures";
import { worker } from "../test/teamFixtures";

const researcher: Agent = {
  name: "researcher",
  model: "scripted/echo",
  description: "Researches one angle of a topic.",
  tools: ["web.search"],
  skills: ["clear-writing"],
  capabilities: ["research"],
  state: "idle",
  path: "agents/researcher.agent.md",
};

afterEach(() => {
  vi.unstubAllGlobals();
  window.location.hash = "";
});

describe("agents page", () => {
  it("keeps each definition and adds its worker state, load, tasks, success rate and tokens", async () => {
    sessionStorage.setItem("orchestra.apiKey", "key");
    window.location.hash = "#/agents";
    const api = worker({ name: "helper", source: "api", state: "idle", active_tasks: 0, max_tasks: 1, sessions: [], succeeded: 0, ended: 0, current_tasks: [] });
    fakeHttp({
      "GET /me": () => viewer,
      "GET /agents": () => [researcher],
      "GET /workers": () => ({ items: [worker(), api] }),
      "GET /workers/researcher": () => worker(),
      "GET /workers/helper": () => api,
    });
    render(<App />);

    const row = within(await screen.findByTestId("agent-row-researcher"));
    expect(row.getByText("web.search")).toBeInTheDocument();
    expect(row.getByText("clear-writing")).toBeInTheDocument();
    await waitFor(() => expect(row.getByTestId("worker-state-researcher")).toHaveTextContent("Busy"));
    expect(row.getByTestId("worker-load-researcher")).toHaveTextContent("1/2");
    expect(row.getByRole("link", { name: "task-now" })).toHaveAttribute("href", "#/tasks/task-now");
    expect(row.getByText("50% (1/2)")).toBeInTheDocument();
    expect(row.getByText("175")).toBeInTheDocument(); // 100+20 + 50+5 tokens over its sessions
    // An agent registered through the API has no file but is a worker all the same.
    const helper = within(screen.getByTestId("agent-row-helper"));
    expect(helper.getByTestId("worker-state-helper")).toHaveTextContent("Idle");
    expect(helper.getByRole("link", { name: "helper" })).toHaveAttribute("href", "#/agents/helper");
  });

  it("lists an agent's sessions and pauses and resumes it for an operator", async () => {
    sessionStorage.setItem("orchestra.apiKey", "key");
    window.location.hash = "#/agents/researcher";
    let current: WorkerDetail = worker();
    const calls = fakeHttp({
      "GET /me": () => operator,
      "GET /workers/researcher": () => current,
      "POST /workers/researcher/pause": () => {
        current = { ...current, state: "paused" };
        return current;
      },
      "POST /workers/researcher/resume": () => {
        current = { ...current, state: "idle" };
        return current;
      },
    });
    const user = userEvent.setup();
    render(<App />);

    expect(await screen.findByTestId("worker-state")).toHaveTextContent("Busy");
    const sessions = within(screen.getByRole("region", { name: "Sessions" }));
    const rows = sessions.getAllByRole("row").slice(1);
    expect(rows.map((r) => within(r).getAllByRole("cell")[3].textContent)).toEqual(["—", "Failed", "Complete"]);
    expect(sessions.getByRole("link", { name: "task-old" })).toHaveAttribute("href", "#/tasks/task-old");
    expect(screen.queryByRole("button", { name: "Resume" })).not.toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Pause" }));
    await waitFor(() => expect(screen.getByTestId("worker-state")).toHaveTextContent("Paused"));
    await user.click(screen.getByRole("button", { name: "Resume" }));
    await waitFor(() => expect(screen.getByTestId("worker-state")).toHaveTextContent("Idle"));
    expect(calls.filter((c) => c.method === "POST").map((c) => [c.path, c.body])).toEqual([
      ["/workers/researcher/pause", { reason: "" }],
      ["/workers/researcher/resume", { reason: "" }],
    ]);
  });

  it("gives a viewer no pause button", async () => {
    sessionStorage.setItem("orchestra.apiKey", "key");
    window.location.hash = "#/agents/researcher";
    fakeHttp({ "GET /me": () => viewer, "GET /workers/researcher": () => worker() });
    render(<App />);
    await screen.findByTestId("worker-state");
    expect(screen.queryByRole("button", { name: "Pause" })).not.toBeInTheDocument();
  });
});
