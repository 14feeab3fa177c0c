import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "../App";
import type { Task } from "../api/team";
import { fakeHttp } from "../test/fakeServer";
import { operator, viewer, workflowSummary } from "../test/fixtures";
import { task, taskDetail } from "../test/teamFixtures";

function signedInAs(me: typeof operator | typeof viewer, hash: string) {
  sessionStorage.setItem("orchestra.apiKey", "key");
  window.location.hash = hash;
  return me;
}

function column(status: string) {
  return screen.getByTestId(`column-${status}`);
}

beforeEach(() => {
  window.location.hash = "";
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("task board", () => {
  it("shows each task in its status column and moves a card when the server moves it", async () => {
    const me = signedInAs(operator, "#/tasks");
    let moving: Task = task({ id: "t-move", title: "Moving one", status: "queued" });
    const stuck = task({ id: "t-stuck", title: "Needs sheets", capabilities: ["sheets"], wait_reason: "no agent has capability 'sheets'" });
    fakeHttp({
      "GET /me": () => me,
      "GET /tasks": () => ({ items: [moving, stuck] }),
    });
    render(<App />);

    const card = await within(await screen.findByTestId("column-queued")).findByText("Needs sheets");
    expect(card.closest("li")).toHaveTextContent("no agent has capability 'sheets'");
    expect(within(column("queued")).getByText("Moving one")).toBeInTheDocument();
    expect(column("design")).toHaveAttribute("data-collapsed", "true");

    moving = { ...moving, status: "build", agent: "writer", updated_at: moving.updated_at + 1 };
    await waitFor(() => expect(within(column("build")).getByText("Moving one")).toBeInTheDocument());
    expect(within(column("build")).getByText("agent writer")).toBeInTheDocument();
    expect(within(column("queued")).queryByText("Moving one")).not.toBeInTheDocument();

    moving = { ...moving, status: "complete", updated_at: moving.updated_at + 1 };
    await waitFor(() => expect(within(column("complete")).getByText("Moving one")).toBeInTheDocument());
    expect(column("build")).toHaveAttribute("data-collapsed", "true");
  });

  it("shows the server's 422 errors next to the fields, then queues the corrected task", async () => {
    const me = signedInAs(operator, "#/tasks");
    const created = task({ id: "t-new", title: "Brief on bees" });
    const calls = fakeHttp({
      "GET /me": () => me,
      "GET /tasks": () => ({ items: [] }),
      "GET /workflows": () => [workflowSummary],
      "POST /tasks": (call) =>
        (call.body as { title: string }).title === ""
          ? {
              status: 422,
              body: {
                error: {
                  code: "validation_error",
                  message: "the request does not match the schema; see details.fields and /docs",
                  details: {
                    fields: [
                      { loc: ["body", "title"], message: "String should have at least 1 character", type: "string_too_short" },
                      { loc: ["body", "complexity"], message: "Input should be less than or equal to 10", type: "less_than_equal" },
                    ],
                  },
                },
              },
            }
          : { status: 201, body: created },
    });
    const user = userEvent.setup();
    render(<App />);

    await user.click(await screen.findByRole("button", { name: "New task" }));
    const form = screen.getByRole("form", { name: "New task" });
    const complexity = within(form).getByLabelText("Complexity");
    await user.clear(complexity);
    await user.type(complexity, "11");
    await user.click(within(form).getByRole("button", { name: "Create task" }));

    const title = within(form).getByLabelText("Title");
    await waitFor(() => expect(title).toHaveAttribute("aria-invalid", "true"));
    expect(title).toHaveAccessibleDescription("String should have at least 1 character");
    expect(complexity).toHaveAttribute("aria-invalid", "true");
    expect(complexity).toHaveAccessibleDescription(/Input should be less than or equal to 10/);
    expect(within(form).getByLabelText("Priority")).toHaveAttribute("aria-invalid", "false");
    expect(within(form).getByRole("alert")).toHaveTextContent("see the fields marked below");

    await user.type(title, "Brief on bees");
    await user.clear(complexity);
    await user.type(complexity, "3");
    await user.type(within(form).getByRole("textbox", { name: "Capabilities" }), "research, writing");
    await user.selectOptions(within(form).getByLabelText("Workflow"), "demo");
    await user.type(within(form).getByLabelText(/Topic/), "bees");
    await user.click(within(form).getByRole("button", { name: "Create task" }));

    expect(await screen.findByRole("status")).toHaveTextContent("Created Brief on bees");
    expect(screen.queryByRole("form", { name: "New task" })).not.toBeInTheDocument();
    expect(calls.filter((c) => c.method === "POST").map((c) => c.body)).toEqual([
      { title: "", complexity: 11, priority: 5 },
      {
        title: "Brief on bees",
        complexity: 3,
        priority: 5,
        capabilities: ["research", "writing"],
        workflow: "demo",
        inputs: { Topic: "bees" },
      },
    ]);
  });

  it("offers no New task button to a viewer", async () => {
    const me = signedInAs(viewer, "#/tasks");
    fakeHttp({ "GET /me": () => me, "GET /tasks": () => ({ items: [task()] }) });
    render(<App />);
    await screen.findByTestId("task-board");
    expect(screen.queryByRole("button", { name: "New task" })).not.toBeInTheDocument();
  });
});

describe("task page", () => {
  const updates = [
    { id: 1, at: 1_800_000_001, kind: "status", source: null, target: "queued" as const, note: "", by: "ci" },
    { id: 2, at: 1_800_000_002, kind: "status", source: "queued" as const, target: "assigned" as const, note: "assigned to writer (least_recent)", by: "vm:1" },
    { id: 3, at: 1_800_000_003, kind: "note", source: null, target: null, note: "drafting the outline", by: "writer" },
  ];

  it("shows the updates timeline, links the run and agent, and cancels for an operator", async () => {
    const me = signedInAs(operator, "#/tasks/t1");
    let detail = taskDetail({ id: "t1", title: "Guide", status: "assigned", agent: "writer", run_id: "run-9", updates });
    const calls = fakeHttp({
      "GET /me": () => me,
      "GET /tasks/t1": () => detail,
      "POST /tasks/t1/cancel": () => {
        detail = { ...detail, status: "cancelled" };
        return detail;
      },
    });
    const user = userEvent.setup();
    render(<App />);

    expect(await screen.findByTestId("task-status")).toHaveTextContent("Assigned");
    expect(screen.getByTestId("task-run")).toHaveAttribute("href", "#/runs/run-9");
    expect(screen.getByRole("link", { name: "writer" })).toHaveAttribute("href", "#/agents/writer");
    const timeline = within(screen.getByRole("region", { name: "Updates" }));
    expect(timeline.getAllByTestId("task-update")).toHaveLength(3);
    expect(timeline.getByText("assigned to writer (least_recent)")).toBeInTheDocument();
    expect(timeline.getByText("drafting the outline")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Retry task" })).not.toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Cancel task" }));
    await waitFor(() => expect(screen.getByTestId("task-status")).toHaveTextContent("Cancelled"));
    expect(calls.some((c) => c.method === "POST" && c.path === "/tasks/t1/cancel")).toBe(true);
    expect(screen.queryByRole("button", { name: "Cancel task" })).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Retry task" })).toBeInTheDocument();
  });

  it("shows a failed task's error and gives a viewer no buttons", async () => {
    const me = signedInAs(viewer, "#/tasks/t2");
    fakeHttp({
      "GET /me": () => me,
      "GET /tasks/t2": () =>
        taskDetail({ id: "t2", status: "failed", error: { code: "step_failed", message: "the model gave up" } }),
    });
    render(<App />);
    expect(await screen.findByTestId("task-status")).toHaveTextContent("Failed");
    expect(screen.getByText("step_failed: the model gave up")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Retry task" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Cancel task" })).not.toBeInTheDocument();
  });
});
