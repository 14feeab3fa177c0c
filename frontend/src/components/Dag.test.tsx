import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { workflow } from "../test/fixtures";
import { buildNodes, Dag, layoutPositions } from "./Dag";

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
});
