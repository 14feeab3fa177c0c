// A run, live: status and actions on top, the DAG and the terminal fed by one event stream,
// and the step panel of the selected step. Finished runs can be replayed from stored events.
import { useCallback, useMemo, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { canOperate } from "../api/client";
import { useSession } from "../api/auth";
import type { Run, Workflow } from "../api/types";
import { listDelegated } from "../api/team";
import { Dag, PHASE_STYLE } from "../components/Dag";
import type { NodeLook } from "../components/Dag";
import { DelegatedTasks, delegatedCounts } from "../components/DelegatedTasks";
import { RerunForm } from "../components/RerunForm";
import { OutputValue, StepPanel } from "../components/StepPanel";
import { WorkflowSource } from "../components/WorkflowSource";
import { WorkspaceFiles } from "../components/WorkspaceFiles";
import { Terminal } from "../components/Terminal";
import { Button, ErrorBox, StatusBadge, formatCost, formatDuration } from "../components/ui";
import { describeError, isFinished, isRejection, liveTokens } from "../live/runState";
import type { RunState } from "../live/runState";
import { useAsync } from "../live/useAsync";
import { usePolling } from "../live/usePolling";
import { useRunStream } from "../live/useRunStream";

const SOCKET_TEXT: Record<string, string> = {
  connecting: "connecting…",
  open: "live",
  reconnecting: "reconnecting…",
  unauthorized: "refused",
  closed: "closed",
};

/** The DAG from the run itself when its workflow file is gone or changed shape. */
function workflowFromRun(run: Run): Workflow {
  return {
    name: run.workflow,
    description: null,
    path: null,
    source_hash: run.source_hash,
    on_failure: null,
    inputs: [],
    steps: run.steps.map((s) => ({
      id: s.id,
      agent: "?",
      model: null,
      inputs: [],
      outputs: [],
      dependencies: [],
      retries: null,
      timeout_s: null,
      approval: null,
      when: null,
      line: null,
    })),
    layers: [run.steps.map((s) => s.id)],
    edges: [],
    outputs: [],
  };
}

function RunFigures({ state }: { state: RunState }) {
  const run = state.run;
  const usage = run?.usage;
  const tokens = liveTokens(state);
  return (
    <dl className="flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-400">
      <div>
        <dt className="inline">duration </dt>
        <dd className="inline text-slate-200">{formatDuration(run?.duration_s)}</dd>
      </div>
      <div>
        <dt className="inline">tokens </dt>
        <dd className="inline text-slate-200" data-testid="token-count">
          {run || tokens > 0 ? tokens : "—"}
        </dd>
      </div>
      <div>
        <dt className="inline">cost </dt>
        <dd className="inline text-slate-200">{formatCost(usage?.cost_usd)}</dd>
      </div>
      <div>
        <dt className="inline">events </dt>
        <dd className="inline text-slate-200" data-testid="event-count">
          {state.eventCount}
        </dd>
      </div>
    </dl>
  );
}

/**
 * The page of one run. Keyed by the run id, so going from one run straight to another
 * (address bar, back/forward) starts from a clean page: no selected step, no event count,
 * no stream of the previous run survive.
 */
export function RunPage() {
  const { id = "" } = useParams();
  return <RunView key={id} id={id} />;
}

function RunView({ id }: { id: string }) {
  const { client, me } = useSession();
  const stream = useRunStream(id, client);
  const { state } = stream;
  const [selected, setSelected] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [rerunning, setRerunning] = useState(false);
  const [showSource, setShowSource] = useState(false);
  const workflowName = state.run?.workflow ?? null;
  const [workflow] = useAsync(
    () => (workflowName ? client.workflow(workflowName) : new Promise<Workflow>(() => {})),
    [client, workflowName],
  );
  const operator = canOperate(me.role);
  const finished = isFinished(state.status);
  // Children a step delegated finish after it may have: keep polling a little once it ended.
  const [delegated] = usePolling(() => listDelegated(client, id), finished ? 10_000 : 2000, [client, id, finished]);
  const children = delegated.phase === "ready" ? delegated.value : [];
  const counts = useMemo(() => delegatedCounts(children), [children]);
  const looks = useMemo<Record<string, NodeLook | undefined>>(() => {
    if (Object.keys(counts).length === 0) return state.steps;
    const merged: Record<string, NodeLook | undefined> = { ...state.steps };
    for (const [step, count] of Object.entries(counts)) {
      merged[step] = { ...(merged[step] ?? { phase: "pending", agent: null, attempt: 0 }), delegated: count };
    }
    return merged;
  }, [state.steps, counts]);

  const graph = useMemo<Workflow | null>(() => {
    if (workflow.phase === "ready") return workflow.value;
    if (workflow.phase === "error" && state.run) return workflowFromRun(state.run);
    return null;
    // Rebuild the fallback only when the run's step list first arrives, not on every snapshot.
  }, [workflow, state.run?.id]);

  const act = useCallback(
    async (action: () => Promise<Run>) => {
      setActionError(null);
      try {
        stream.applyRun(await action());
      } catch (exc) {
        setActionError(exc);
      }
    },
    [stream],
  );
  const onDecide = useCallback(
    (step: string, decision: "approve" | "reject", reason: string) =>
      act(() => client.decide(id, step, decision, reason)),
    [act, client, id],
  );

  if (stream.loadError && !state.run) return <ErrorBox error={stream.loadError} />;

  const stepIds = graph?.steps.map((s) => s.id) ?? Object.keys(state.steps);
  const waiting = stepIds.filter((s) => state.steps[s]?.phase === "waiting");
  const failedSteps = stepIds.filter((s) => state.steps[s]?.phase === "failed");
  const rejected = failedSteps.filter((s) => isRejection(state.steps[s]?.error));
  // Resuming re-runs failed steps; a rejection is a decision, not a breakage to retry.
  const resumable =
    state.status === "cancelled" ||
    (state.status === "failed" && (failedSteps.length === 0 || rejected.length < failedSteps.length));
  const selectedSpec = graph?.steps.find((s) => s.id === selected);

  return (
    <div className="flex h-full min-h-0 flex-col">
      <div className="flex flex-wrap items-center gap-3 border-b border-slate-800 px-4 py-2">
        <h1 className="text-lg font-bold">
          Run <span className="font-mono text-sm">{id}</span>
        </h1>
        {workflowName && (
          <Link
            to={`/workflows/${encodeURIComponent(workflowName)}`}
            className="text-sm text-sky-300 underline focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400"
          >
            {workflowName}
          </Link>
        )}
        <span aria-live="polite">
          <span className="sr-only">Run status: </span>
          <StatusBadge status={state.status} testId="run-status" />
        </span>
        <span className="text-xs text-slate-500" data-testid="socket-status" title={stream.socketDetail ?? ""}>
          stream {SOCKET_TEXT[stream.socketStatus]}
        </span>
        <RunFigures state={state} />
        <div className="ml-auto flex gap-2">
          {operator && !finished && state.status !== null && (
            <Button variant="danger" onClick={() => act(() => client.cancelRun(id))}>
              Cancel run
            </Button>
          )}
          {operator && resumable && (
            <Button onClick={() => act(() => client.resumeRun(id))}>Resume</Button>
          )}
          {operator && state.run && (
            <Button onClick={() => setRerunning((open) => !open)} aria-expanded={rerunning}>
              Re-run
            </Button>
          )}
          {workflow.phase === "ready" && workflow.value.source && (
            <Button onClick={() => setShowSource((open) => !open)} aria-pressed={showSource}>
              Workflow source
            </Button>
          )}
          {finished && (
            <Button onClick={stream.replay} disabled={stream.replaying}>
              {stream.replaying ? "Replaying…" : "Replay"}
            </Button>
          )}
        </div>
      </div>
      {stream.socketStatus === "unauthorized" && (
        <p role="alert" className="bg-red-950 px-4 py-1 text-sm text-red-100">
          {stream.socketDetail}
        </p>
      )}
      {actionError !== null && <ErrorBox error={actionError} />}
      {rerunning && state.run && (
        <RerunForm
          run={state.run}
          workflow={workflow.phase === "ready" ? workflow.value : null}
          onClose={() => setRerunning(false)}
        />
      )}
      {waiting.length > 0 && (
        <div className="flex items-center gap-2 bg-purple-950 px-4 py-1 text-sm">
          Waiting for approval:
          {waiting.map((s) => (
            <Button key={s} onClick={() => setSelected(s)}>
              {s}
            </Button>
          ))}
          {!operator && <span className="text-purple-200">(an operator decides)</span>}
        </div>
      )}
      {finished && (state.error || rejected.length > 0) && (
        <div role="alert" className="bg-red-950 px-4 py-1 text-sm text-red-100">
          {rejected.length > 0
            ? rejected.map((s) => {
                const error = state.steps[s]?.error;
                return <p key={s}>Step {s} {error ? describeError(error) : "rejected"}</p>;
              })
            : state.error && <p>{describeError(state.error)}</p>}
        </div>
      )}
      {/* Side by side from 768 px; below that the graph, terminal and panel stack and scroll. */}
      <div className="flex min-h-0 flex-1 flex-col overflow-y-auto md:flex-row md:overflow-hidden">
        <div className="flex min-w-0 shrink-0 flex-col md:flex-1 md:shrink">
          <div
            className={`flex border-b border-slate-800 md:h-[42%] md:min-h-[200px] ${
              showSource ? "flex-col md:flex-row" : "h-[45vh] min-h-[260px]"
            }`}
            data-testid="dag-pane"
          >
            <div className={`min-w-0 flex-1 ${showSource ? "h-[45vh] min-h-[260px] md:h-auto md:min-h-0" : ""}`}>
              {graph ? (
                <Dag workflow={graph} looks={looks} selected={selected} onSelect={setSelected} />
              ) : (
                <p role="status" className="p-4 text-slate-400">
                  Loading the workflow graph…
                </p>
              )}
            </div>
            {showSource && workflow.phase === "ready" && (
              <div className="h-[40vh] border-t border-slate-800 md:h-auto md:w-2/5 md:border-l md:border-t-0">
                <WorkflowSource source={workflow.value.source ?? ""} path={workflow.value.path} />
              </div>
            )}
          </div>
          <div
            className="flex h-[50vh] min-h-[260px] flex-col p-1 md:h-auto md:min-h-0 md:flex-1"
            data-testid="terminal-pane"
          >
            {selected && (
              <p className="flex items-center gap-2 px-1 pb-1 text-xs text-slate-300" data-testid="terminal-filter">
                Terminal shows step <span className="font-mono text-slate-100">{selected}</span> only
                <button
                  type="button"
                  onClick={() => setSelected(null)}
                  className="rounded border border-slate-600 px-2 py-0.5 hover:bg-slate-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300"
                >
                  Show all steps
                </button>
              </p>
            )}
            <div className="min-h-0 flex-1">
              <Terminal log={stream.log} step={selected} />
            </div>
          </div>
        </div>
        <aside
          aria-label="Steps"
          className="w-full shrink-0 border-t border-slate-800 p-3 md:w-[360px] md:overflow-auto md:border-l md:border-t-0"
        >
          <h2 className="sr-only">Steps</h2>
          <ul className="mb-3 flex flex-wrap gap-1">
            {stepIds.map((stepId) => {
              const phase = state.steps[stepId]?.phase ?? "pending";
              return (
                <li key={stepId}>
                  <button
                    type="button"
                    aria-pressed={selected === stepId}
                    onClick={() => setSelected(stepId)}
                    className={`rounded border px-2 py-0.5 text-xs focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300 ${PHASE_STYLE[phase].box}`}
                  >
                    {stepId}
                    <span className="sr-only">: {PHASE_STYLE[phase].label}</span>
                  </button>
                </li>
              );
            })}
          </ul>
          {selected ? (
            <StepPanel
              stepId={selected}
              spec={selectedSpec}
              view={state.steps[selected]}
              run={state.run}
              steps={state.steps}
              canDecide={operator}
              onDecide={onDecide}
            />
          ) : (
            <p className="text-sm text-slate-400">Select a step (in the graph or above) to see its inputs, outputs, tool calls and usage.</p>
          )}
          {finished && state.outputs && Object.keys(state.outputs).length > 0 && !selected && (
            <div className="mt-4 text-sm" data-testid="run-outputs">
              <h2 className="font-semibold">Run outputs</h2>
              {Object.entries(state.outputs).map(([name, value]) => (
                <div key={name} className="mt-1">
                  <div className="text-xs text-slate-400">{name}</div>
                  <OutputValue value={value} />
                </div>
              ))}
            </div>
          )}
          <DelegatedTasks tasks={children} step={selected} />
          <div className="mt-4">
            <WorkspaceFiles kind="runs" itemId={id} live={!finished} />
          </div>
        </aside>
      </div>
    </div>
  );
}
