// The workflow DAG in React Flow: one column per layer (steps in a layer run in parallel),
// edges from the workflow's `edges`. Node objects are reused while a step's look is
// unchanged, and StepNode is memoised, so a live event re-renders only the node it touched.
import { memo, useMemo, useRef } from "react";
import { Background, Controls, Handle, Position, ReactFlow } from "@xyflow/react";
import type { Edge, Node, NodeProps } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import type { Workflow } from "../api/types";
import type { StepPhase } from "../live/runState";

export interface NodeLook {
  phase: StepPhase;
  agent: string | null;
  attempt: number;
}

type StepNodeData = {
  id: string;
  agent: string;
  phase: StepPhase;
  attempt: number;
  selected: boolean;
};

type StepNodeType = Node<StepNodeData, "step">;

export const PHASE_STYLE: Record<StepPhase, { box: string; label: string }> = {
  pending: { box: "border-slate-500 bg-slate-700 text-slate-100", label: "Pending" },
  running: { box: "border-yellow-300 bg-yellow-400 text-slate-950", label: "Running" },
  waiting: { box: "border-purple-300 bg-purple-600 text-white", label: "Waiting for approval" },
  succeeded: { box: "border-green-300 bg-green-600 text-white", label: "Succeeded" },
  failed: { box: "border-red-300 bg-red-600 text-white", label: "Failed" },
  skipped: { box: "border-slate-700 bg-slate-800 text-slate-400", label: "Skipped" },
  cancelled: { box: "border-slate-700 bg-slate-800 text-slate-400", label: "Cancelled" },
};

const StepNode = memo(function StepNode({ data }: NodeProps<StepNodeType>) {
  const look = PHASE_STYLE[data.phase];
  return (
    <div
      data-testid={`dag-node-${data.id}`}
      data-phase={data.phase}
      className={`w-48 rounded-lg border-2 px-3 py-2 shadow ${look.box} ${
        data.selected ? "ring-4 ring-sky-400" : ""
      }`}
    >
      <Handle type="target" position={Position.Left} className="!bg-slate-400" />
      <div className="truncate font-semibold" title={data.id}>
        {data.id}
      </div>
      <div className="truncate text-xs opacity-90">{data.agent}</div>
      <div className="text-xs font-medium">
        {look.label}
        {data.attempt > 1 ? ` · attempt ${data.attempt}` : ""}
      </div>
      <Handle type="source" position={Position.Right} className="!bg-slate-400" />
    </div>
  );
});

const nodeTypes = { step: StepNode };

const COLUMN = 260;
const ROW = 100;

/** Positions by layer: x from the layer index, y centred within the tallest layer. */
export function layoutPositions(workflow: Workflow): Map<string, { x: number; y: number }> {
  const layers = workflow.layers?.length ? workflow.layers : [workflow.steps.map((s) => s.id)];
  const tallest = Math.max(1, ...layers.map((layer) => layer.length));
  const positions = new Map<string, { x: number; y: number }>();
  layers.forEach((layer, column) => {
    const offset = ((tallest - layer.length) * ROW) / 2;
    layer.forEach((id, row) => positions.set(id, { x: column * COLUMN, y: offset + row * ROW }));
  });
  // Steps missing from `layers` (an older server) still get drawn, below the rest.
  let extra = 0;
  for (const step of workflow.steps) {
    if (!positions.has(step.id)) positions.set(step.id, { x: extra++ * COLUMN, y: tallest * ROW });
  }
  return positions;
}

/**
 * React Flow nodes for the steps, reusing the previous node object of every step whose look
 * did not change: React Flow skips re-rendering a node whose object is identical.
 */
export function buildNodes(
  workflow: Workflow,
  positions: Map<string, { x: number; y: number }>,
  looks: Record<string, NodeLook | undefined> | undefined,
  selected: string | null,
  previousById: Map<string, StepNodeType>,
): { list: StepNodeType[]; byId: Map<string, StepNodeType> } {
  const byId = new Map<string, StepNodeType>();
  const list = workflow.steps.map((step) => {
    const look = looks?.[step.id];
    const data: StepNodeData = {
      id: step.id,
      agent: look?.agent ?? step.agent,
      phase: look?.phase ?? "pending",
      attempt: look?.attempt ?? 0,
      selected: selected === step.id,
    };
    const previous = previousById.get(step.id);
    const position = positions.get(step.id) ?? { x: 0, y: 0 };
    const same =
      previous !== undefined &&
      previous.position === position &&
      previous.data.phase === data.phase &&
      previous.data.agent === data.agent &&
      previous.data.attempt === data.attempt &&
      previous.data.selected === data.selected;
    const node: StepNodeType = same
      ? previous
      : { id: step.id, type: "step", position, data, draggable: false, connectable: false };
    byId.set(step.id, node);
    return node;
  });
  return { list, byId };
}

interface DagProps {
  workflow: Workflow;
  looks?: Record<string, NodeLook | undefined>;
  selected?: string | null;
  onSelect?: (stepId: string) => void;
}

export const Dag = memo(function Dag({ workflow, looks, selected = null, onSelect }: DagProps) {
  const positions = useMemo(() => layoutPositions(workflow), [workflow]);
  const cache = useRef(new Map<string, StepNodeType>());

  const nodes = useMemo(() => {
    const { list, byId } = buildNodes(workflow, positions, looks, selected, cache.current);
    cache.current = byId;
    return list;
  }, [workflow, looks, selected, positions]);

  const edges = useMemo<Edge[]>(
    () =>
      (workflow.edges ?? []).map(([source, target]) => ({
        id: `${source}->${target}`,
        source,
        target,
        animated: looks?.[target]?.phase === "running",
      })),
    // Edges animate with their target; recomputing them is cheap and keeps ids stable.
    [workflow, looks],
  );

  return (
    <div className="h-full w-full" data-testid="dag">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.2 }}
        minZoom={0.2}
        nodesDraggable={false}
        nodesConnectable={false}
        proOptions={{ hideAttribution: true }}
        onNodeClick={(_, node) => onSelect?.(node.id)}
        colorMode="dark"
        ariaLabelConfig={{ "node.a11yDescription.default": "Press Enter to show this step." }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
});
