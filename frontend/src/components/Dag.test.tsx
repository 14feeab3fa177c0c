import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { workflow } from "../test/fixtures";
import { buildNodes, Dag, downstream, initialViewport, layoutPositions, READABLE_ZOOM } from "./Dag";

describe("Dag", () => {
  it("lays steps out in columns by layer", () => {
    const positions = layoutPositions({
      ...workflow,
      steps: [...workflow.steps, { ...workflow.steps[0], id: "extra" }],
      layers: [["research", "extra"], ["write"]],
    });
    expect(positions.get("research")!.x).toBe(positions.get("extra")!.x);
    expect(positions.get("write")!.x).toBeGreaterThan(positions.get("research")!.x);
    expect(positions.get("research")!.y).not.toBe(positions.get("extra")!.y);
  });

  it("keeps the node object of every step whose look did not change", () => {
    const positions = layoutPositions(workflow);
    const first = buildNodes(workflow, positions, { research: { phase: "running", agent: "r", attempt: 1 } }, null, new Map());
    const second = buildNodes(
      workflow,
      positions,
      {
        research: { phase: "running", agent: "r", attempt: 1 },
        write: { phase: "running", agent: "w", attempt: 1 },
      },
      null,
      first.byId,
    );
    expect(second.byId.get("research")).toBe(first.byId.get("research"));
    expect(second.byId.get("write")).not.toBe(first.byId.get("write"));
    expect(second.byId.get("write")!.data.phase).toBe("running");
    const selected = buildNodes(workflow, positions, undefined, "write", second.byId);
    expect(selected.byId.get("write")!.data.selected).toBe(true);
  });

  it("colours nodes by phase", async () => {
    render(
      <div style={{ width: 800, height: 400 }}>
        <Dag workflow={workflow} looks={{ research: { phase: "succeeded", agent: "r", attempt: 1 }, write: { phase: "failed", agent: "w", attempt: 2 } }} />
      </div>,
    );
    expect(await screen.findByTestId("dag-node-research")).toHaveAttribute("data-phase", "succeeded");
    expect(screen.getByTestId("dag-node-research")).toHaveClass("bg-green-600");
    expect(screen.getByTestId("dag-node-write")).toHaveClass("bg-red-600");
    expect(screen.getByTestId("dag-node-write")).toHaveTextContent("attempt 2");
  });

  it("opens a large graph at a readable zoom at its start, and a small one fitted", () => {
    const ids = Array.from({ length: 30 }, (_, n) => `step-${n}`);
    const chain = {
      ...workflow,
      steps: ids.map((id) => ({ ...workflow.steps[0], id })),
      layers: ids.map((id) => [id]),
      edges: [],
    };
    const big = initialViewport(layoutPositions(chain), 1280, 336);
    expect(big.zoom).toBe(READABLE_ZOOM);
    expect(16 * big.zoom).toBeGreaterThanOrEqual(10);
    expect(13 * big.zoom).toBeGreaterThanOrEqual(10);
    expect(big.x).toBeGreaterThan(0); // the first layer is on screen
    const small = initialViewport(layoutPositions(workflow), 1280, 336);
    expect(small.zoom).toBeGreaterThanOrEqual(READABLE_ZOOM);
    expect(small.zoom).toBeLessThanOrEqual(1.25);
  });

  it("shows each node's attempt and duration", async () => {
    render(
      <div style={{ width: 800, height: 400 }}>
        <Dag workflow={workflow} looks={{ research: { phase: "succeeded", agent: "r", attempt: 1, startedAt: 10, finishedAt: 12.5 } }} />
      </div>,
    );
    expect(await screen.findByTestId("dag-node-research-meta")).toHaveTextContent("Succeeded · attempt 1 · 2.5 s");
  });

  it("collapses the branch after a step and expands it again", async () => {
    // Two chains of four after one root: collapsing chain A hides only its three later steps.
    const ids = ["root", "a1", "a2", "a3", "b1", "b2", "b3"];
    const big = {
      ...workflow,
      steps: ids.map((id) => ({ ...workflow.steps[0], id })),
      layers: [["root"], ["a1", "b1"], ["a2", "b2"], ["a3", "b3"]],
      edges: [["root", "a1"], ["a1", "a2"], ["a2", "a3"], ["root", "b1"], ["b1", "b2"], ["b2", "b3"]] as [string, string][],
    };
    expect([...downstream(big, ["a1"])].sort()).toEqual(["a2", "a3"]);
    const selected: string[] = [];
    render(
      <div style={{ width: 800, height: 400 }}>
        <Dag workflow={big} onSelect={(id) => selected.push(id)} />
      </div>,
    );
    const toggle = await screen.findByTestId("dag-toggle-a1");
    expect(toggle).toHaveAttribute("aria-label", "Hide the 2 steps after a1");
    fireEvent.click(toggle);
    await waitFor(() => expect(screen.queryByTestId("dag-node-a2")).not.toBeInTheDocument());
    expect(screen.queryByTestId("dag-node-a3")).not.toBeInTheDocument();
    expect(screen.getByTestId("dag-node-b2")).toBeInTheDocument();
    expect(screen.getByTestId("dag-toggle-a1")).toHaveTextContent("+2");
    expect(selected).toEqual([]); // the toggle does not select the step
    expect(screen.getByTestId("dag-toggle-a1")).toHaveAttribute("aria-label", "Show the 2 steps after a1");
    fireEvent.click(screen.getByTestId("dag-toggle-a1"));
    expect(await screen.findByTestId("dag-node-a3")).toBeInTheDocument();
  });
});
