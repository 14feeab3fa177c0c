// The workflow DAG in React Flow: one column per layer (steps in a layer run in parallel),
// edges from the workflow's `edges`. Node objects are reused while a step's look is
// unchanged, and StepNode is memoised, so a live event re-renders only the node it touched.
import { createContext, memo, useCallback, useContext, useMemo, useRef, useState } from "react";
import { Background, Controls, Handle, MiniMap, Position, ReactFlow } from "@xyflow/react";
import type { Edge, Node, NodeProps, ReactFlowInstance } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import type { Workflow } from "../api/types";
import type { StepPhase } from "../live/runState";

export interface NodeLook {
  phase: StepPhase;
  agent: string | null;
  attempt: number;
  startedAt?: number | null;
  finishedAt?: number | null;
  /** Tasks this step handed to other agents (`delegate`): shown as the step's children. */
  delegated?: number;
}

type StepNodeData = {
  id: string;
  agent: string;
  phase: StepPhase;
  attempt: number;
  /** How long the current attempt took ("" before it settled). */
  duration: string;
  selected: boolean;
  /** Steps downstream of this one that a collapse would hide (0: no toggle shown). */
  branch: number;
  collapsed: boolean;
  delegated: number;
};

/** Collapses or expands the branch after a step; a context keeps node data free of callbacks. */
const ToggleBranch = createContext<(stepId: string) => void>(() => {});

/** Every step downstream of `from` (not `from` itself), following the workflow's edges. */
export function downstream(workflow: Workflow, from: Iterable<string>): Set<string> {
  const next = new Map<string, string[]>();
  for (const [source, target] of workflow.edges ?? []) next.set(source, [...(next.get(source) ?? []), target]);
  const seen = new Set<string>();
  const queue = [...from].flatMap((id) => next.get(id) ?? []);
  while (queue.length > 0) {
    const id = queue.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    queue.push(...(next.get(id) ?? []));
  }
  return seen;
}

/** A step's duration as a node shows it: "2.4 s", "1 min 5 s", or "" while unknown. */
export function nodeDuration(look: NodeLook | undefined): string {
  if (!look?.startedAt || !look.finishedAt) return "";
  const seconds = Math.max(0, look.finishedAt - look.startedAt);
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

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
  const toggle = useContext(ToggleBranch);
  return (
    <div
      data-testid={`dag-node-${data.id}`}
      data-phase={data.phase}
      className={`w-56 rounded-lg border-2 px-3 py-2 shadow ${look.box} ${
        data.selected ? "ring-4 ring-sky-400" : ""
      }`}
    >
      <Handle type="target" position={Position.Left} className="!bg-slate-400" />
      <div className="flex items-center gap-1">
        <div className="min-w-0 flex-1 truncate text-base font-semibold" title={data.id} data-testid="dag-node-label">
          {data.id}
        </div>
        {data.branch > 0 && (
          <button
            type="button"
            className="nodrag nopan shrink-0 rounded border border-current px-1 text-[13px] leading-5 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300"
            aria-expanded={!data.collapsed}
            aria-label={`${data.collapsed ? "Show" : "Hide"} the ${data.branch} steps after ${data.id}`}
            data-testid={`dag-toggle-${data.id}`}
            onClick={(event) => {
              event.stopPropagation(); // a toggle, not a selection
              toggle(data.id);
            }}
          >
            {data.collapsed ? `+${data.branch}` : "−"}
          </button>
        )}
      </div>
      <div className="truncate text-[13px] opacity-90">{data.agent}</div>
      <div className="truncate text-[13px] font-medium" data-testid={`dag-node-${data.id}-meta`}>
        {look.label}
        {data.attempt > 0 ? ` · attempt ${data.attempt}` : ""}
        {data.duration ? ` · ${data.duration}` : ""}
      </div>
      {data.delegated > 0 && (
        <div className="truncate text-[13px]" data-testid={`dag-node-${data.id}-delegated`}>
          ↳ {data.delegated} delegated {data.delegated === 1 ? "task" : "tasks"}
        </div>
      )}
      <Handle type="source" position={Position.Right} className="!bg-slate-400" />
    </div>
  );
});

const nodeTypes = { step: StepNode };

const MINIMAP_COLOUR: Record<StepPhase, string> = {
  pending: "#475569",
  running: "#facc15",
  waiting: "#9333ea",
  succeeded: "#16a34a",
  failed: "#dc2626",
  skipped: "#1e293b",
  cancelled: "#1e293b",
};

const COLUMN = 290;
const ROW = 120;
const NODE_W = 224; // w-56
const NODE_H = 90;
/**
 * The smallest zoom the graph opens at: step names are 16 px and the lines under them 13 px,
 * so 0.8 keeps every label over 10 px high. A larger graph opens at its first layers instead of being shrunk to fit (the
 * minimap shows the rest); the zoom-out control still gives the whole picture.
 */
export const READABLE_ZOOM = 0.8;
const MAX_FIT_ZOOM = 1.25;

/** The initial viewport: the whole graph when it fits readably, else its start at READABLE_ZOOM. */
export function initialViewport(
  positions: Map<string, { x: number; y: number }>,
  width: number,
  height: number,
): { x: number; y: number; zoom: number } {
  const points = [...positions.values()];
  if (points.length === 0 || width <= 0 || height <= 0) return { x: 0, y: 0, zoom: 1 };
  const minX = Math.min(...points.map((p) => p.x));
  const minY = Math.min(...points.map((p) => p.y));
  const graphW = Math.max(...points.map((p) => p.x)) + NODE_W - minX;
  const graphH = Math.max(...points.map((p) => p.y)) + NODE_H - minY;
  const pad = 24;
  const fit = Math.min((width - 2 * pad) / graphW, (height - 2 * pad) / graphH, MAX_FIT_ZOOM);
  const zoom = Math.max(fit, READABLE_ZOOM);
  // Centre each axis the graph fits on; otherwise show its start (left / top).
  const x = graphW * zoom <= width ? (width - graphW * zoom) / 2 - minX * zoom : pad - minX * zoom;
  const y = graphH * zoom <= height ? (height - graphH * zoom) / 2 - minY * zoom : pad - minY * zoom;
  return { x, y, zoom };
}

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
  branches: Map<string, number> = new Map(),
  collapsed: ReadonlySet<string> = new Set(),
  hidden: ReadonlySet<string> = new Set(),
): { list: StepNodeType[]; byId: Map<string, StepNodeType> } {
  const byId = new Map<string, StepNodeType>();
  const list = workflow.steps.map((step) => {
    const look = looks?.[step.id];
    const isHidden = hidden.has(step.id);
    const data: StepNodeData = {
      id: step.id,
      agent: look?.agent ?? step.agent,
      phase: look?.phase ?? "pending",
      attempt: look?.attempt ?? 0,
      duration: nodeDuration(look),
      selected: selected === step.id,
      branch: branches.get(step.id) ?? 0,
      collapsed: collapsed.has(step.id),
      delegated: look?.delegated ?? 0,
    };
    const previous = previousById.get(step.id);
    const position = positions.get(step.id) ?? { x: 0, y: 0 };
    const same =
      previous !== undefined &&
      previous.position === position &&
      previous.data.phase === data.phase &&
      previous.data.agent === data.agent &&
      previous.data.attempt === data.attempt &&
      previous.data.duration === data.duration &&
      previous.data.selected === data.selected &&
      previous.data.branch === data.branch &&
      previous.data.collapsed === data.collapsed &&
      previous.data.delegated === data.delegated &&
      (previous.hidden ?? false) === isHidden;
    const node: StepNodeType = same
      ? previous
      : {
          id: step.id,
          type: "step",
          position,
          data,
          draggable: false,
          connectable: false,
          hidden: isHidden,
          // The minimap sizes nodes from the node objects (measured sizes stay inside React
          // Flow, which never hands them back to these controlled nodes).
          initialWidth: NODE_W,
          initialHeight: NODE_H,
        };
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
  const box = useRef<HTMLDivElement>(null);
  const onInit = useCallback(
    (flow: ReactFlowInstance<StepNodeType>) => {
      const rect = box.current?.getBoundingClientRect();
      void flow.setViewport(initialViewport(positions, rect?.width ?? 0, rect?.height ?? 0));
    },
    [positions],
  );

  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const toggle = useCallback(
    (stepId: string) =>
      setCollapsed((before) => {
        const after = new Set(before);
        if (!after.delete(stepId)) after.add(stepId);
        return after;
      }),
    [],
  );
  // Branch toggles only where a graph is big enough to need them.
  const branches = useMemo(() => {
    const counts = new Map<string, number>();
    if (workflow.steps.length <= 6) return counts;
    for (const step of workflow.steps) counts.set(step.id, downstream(workflow, [step.id]).size);
    return counts;
  }, [workflow]);
  const hidden = useMemo(() => downstream(workflow, collapsed), [workflow, collapsed]);

  const nodes = useMemo(() => {
    const { list, byId } = buildNodes(workflow, positions, looks, selected, cache.current, branches, collapsed, hidden);
    cache.current = byId;
    return list;
  }, [workflow, looks, selected, positions, branches, collapsed, hidden]);

  const edges = useMemo<Edge[]>(
    () =>
      (workflow.edges ?? []).map(([source, target]) => ({
        id: `${source}->${target}`,
        source,
        target,
        animated: looks?.[target]?.phase === "running",
        hidden: hidden.has(source) || hidden.has(target),
      })),
    // Edges animate with their target; recomputing them is cheap and keeps ids stable.
    [workflow, looks, hidden],
  );

  return (
    <ToggleBranch.Provider value={toggle}>
      <div className="h-full w-full" data-testid="dag" ref={box}>
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          onInit={onInit}
          minZoom={0.1}
          nodesDraggable={false}
          nodesConnectable={false}
          proOptions={{ hideAttribution: true }}
          onNodeClick={(_, node) => onSelect?.(node.id)}
          colorMode="dark"
          ariaLabelConfig={{ "node.a11yDescription.default": "Press Enter to show this step." }}
        >
          <Background />
          <Controls showInteractive={false} fitViewOptions={{ padding: 0.1 }} />
          {workflow.steps.length > 6 && (
            <MiniMap
              pannable
              zoomable
              ariaLabel="Overview of the whole graph"
              nodeColor={(node) => MINIMAP_COLOUR[(node.data as StepNodeData).phase] ?? "#475569"}
              bgColor="#0f172a"
              maskColor="rgba(2, 6, 23, 0.55)"
              maskStrokeColor="#38bdf8"
              maskStrokeWidth={2}
              style={{ width: 160, height: 90 }}
              className="max-sm:!hidden"
            />
          )}
        </ReactFlow>
      </div>
    </ToggleBranch.Provider>
  );
});
