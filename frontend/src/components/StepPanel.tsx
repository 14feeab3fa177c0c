// What one step did: its inputs (resolved from the run's inputs and other steps' outputs),
// outputs, tool calls, usage, error, and — for operators — the approval decision.
import { memo, useState } from "react";
import type { Run, WorkflowStep } from "../api/types";
import { describeError } from "../live/runState";
import type { StepView } from "../live/runState";
import { preview } from "../live/format";
import { PHASE_STYLE } from "./Dag";
import { Markdown } from "./Markdown";
import { Button, formatCost } from "./ui";

function Value({ value }: { value: unknown }) {
  return (
    <pre className="max-h-48 overflow-auto whitespace-pre-wrap break-words rounded bg-slate-950 p-2 text-xs text-slate-200">
      {typeof value === "string" ? preview(value, 20_000) : preview(JSON.stringify(value, null, 2), 20_000)}
    </pre>
  );
}

/** An output: text as Markdown (what models write), anything else as JSON. */
export function OutputValue({ value }: { value: unknown }) {
  if (typeof value !== "string") return <Value value={value} />;
  return (
    <div className="max-h-96 overflow-auto rounded bg-slate-950 p-2">
      <Markdown text={preview(value, 50_000)} />
    </div>
  );
}

function resolveInput(name: string, run: Run | null, steps: Record<string, StepView>): unknown {
  if (run && name in (run.inputs ?? {})) return run.inputs[name];
  for (const step of Object.values(steps)) {
    if (step.outputs && name in step.outputs) return step.outputs[name];
  }
  for (const step of run?.steps ?? []) {
    if (step.outputs && name in step.outputs) return step.outputs[name];
  }
  return undefined;
}

interface StepPanelProps {
  stepId: string;
  spec: WorkflowStep | undefined;
  view: StepView | undefined;
  run: Run | null;
  steps: Record<string, StepView>;
  canDecide: boolean;
  onDecide: (step: string, decision: "approve" | "reject", reason: string) => Promise<void>;
}

export const StepPanel = memo(function StepPanel({
  stepId,
  spec,
  view,
  run,
  steps,
  canDecide,
  onDecide,
}: StepPanelProps) {
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const phase = view?.phase ?? "pending";
  const decide = async (decision: "approve" | "reject") => {
    setBusy(true);
    try {
      await onDecide(stepId, decision, reason);
      setReason("");
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-label={`Step ${stepId}`} data-testid="step-panel" className="space-y-3 text-sm">
      <header>
        <h2 className="text-lg font-semibold">{stepId}</h2>
        <p className="text-slate-400">
          agent {view?.agent ?? spec?.agent ?? "?"}
          {spec?.model ? ` · model ${spec.model}` : ""} ·{" "}
          <span className={`rounded px-1 ${PHASE_STYLE[phase].box}`}>{PHASE_STYLE[phase].label}</span>
          {view && view.attempt > 0 ? ` · attempt ${view.attempt}` : ""}
        </p>
      </header>

      {phase === "waiting" && canDecide && (
        <div className="space-y-2 rounded border border-purple-600 p-2">
          <label htmlFor="decision-reason" className="block font-medium">
            Approval reason (optional)
          </label>
          <input
            id="decision-reason"
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            className="w-full rounded border border-slate-600 bg-slate-950 px-2 py-1 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400"
          />
          <div className="flex gap-2">
            <Button variant="approve" disabled={busy} onClick={() => decide("approve")}>
              Approve
            </Button>
            <Button variant="danger" disabled={busy} onClick={() => decide("reject")}>
              Reject
            </Button>
          </div>
        </div>
      )}

      {view?.error && (
        <div role="alert" className="rounded border border-red-700 bg-red-950 p-2 text-red-100">
          {describeError(view.error)}
          {view.willRetry ? " (retrying)" : ""}
        </div>
      )}

      <div>
        <h3 className="font-semibold">Inputs</h3>
        {(spec?.inputs ?? []).length === 0 && <p className="text-slate-500">none</p>}
        {(spec?.inputs ?? []).map((name) => {
          const value = resolveInput(name, run, steps);
          return (
            <div key={name} className="mt-1">
              <div className="text-xs text-slate-400">{name}</div>
              {value === undefined ? <p className="text-slate-500">not yet available</p> : <Value value={value} />}
            </div>
          );
        })}
      </div>

      <div>
        <h3 className="font-semibold">Outputs</h3>
        {!view?.outputs || Object.keys(view.outputs).length === 0 ? (
          <p className="text-slate-500">{phase === "succeeded" ? "none" : "not yet"}</p>
        ) : (
          Object.entries(view.outputs).map(([name, value]) => (
            <div key={name} className="mt-1">
              <div className="text-xs text-slate-400">{name}</div>
              <OutputValue value={value} />
            </div>
          ))
        )}
      </div>

      <div>
        <h3 className="font-semibold">Tool calls ({view?.toolCalls.length ?? 0})</h3>
        <ol className="space-y-1">
          {(view?.toolCalls ?? []).map((call, index) => (
            <li key={`${call.callId}-${index}`} className="rounded border border-slate-800 p-1">
              <div className="font-mono text-xs text-green-400">
                {call.tool} {preview(call.arguments ?? {}, 300)}
              </div>
              {call.done && (
                <div className={`font-mono text-xs ${call.error ? "text-red-400" : "text-slate-300"}`}>
                  ← {preview(call.error ?? call.result, 500)}
                </div>
              )}
            </li>
          ))}
        </ol>
      </div>

      <div>
        <h3 className="font-semibold">Usage</h3>
        {view?.usage ? (
          <p className="text-slate-300">
            {view.usage.total_tokens} tokens ({view.usage.prompt_tokens} prompt,{" "}
            {view.usage.completion_tokens} completion) · {view.usage.calls} calls ·{" "}
            {formatCost(view.usage.cost_usd)}
          </p>
        ) : (
          <p className="text-slate-500">not yet</p>
        )}
      </div>
    </section>
  );
});
