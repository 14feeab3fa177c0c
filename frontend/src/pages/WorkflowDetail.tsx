// One workflow: its DAG, a form generated from its inputs, and the Run button
// (POST /api/v1/runs, then the run page).
import { useState } from "react";
import type { FormEvent } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { canOperate } from "../api/client";
import { useSession } from "../api/auth";
import type { Input, Workflow } from "../api/types";
import { Dag } from "../components/Dag";
import { Button, ErrorBox, Loading } from "../components/ui";
import { useAsync } from "../live/useAsync";

function defaultText(input: Input): string {
  if (input.default === null || input.default === undefined) return "";
  return typeof input.default === "string" ? input.default : JSON.stringify(input.default);
}

function RunForm({ workflow }: { workflow: Workflow }) {
  const { client, me } = useSession();
  const navigate = useNavigate();
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(workflow.inputs.map((input) => [input.name, defaultText(input)])),
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const allowed = canOperate(me.role);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    // Send what the user typed; an untouched default is left to the server to apply.
    const inputs: Record<string, unknown> = {};
    for (const input of workflow.inputs) {
      const value = values[input.name] ?? "";
      if (value !== "" && (input.required || value !== defaultText(input))) inputs[input.name] = value;
    }
    try {
      const run = await client.startRun(workflow.name, inputs);
      navigate(`/runs/${encodeURIComponent(run.id)}`);
    } catch (exc) {
      setError(exc);
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} aria-label="Run inputs" className="space-y-3">
      <h2 className="text-lg font-semibold">Inputs</h2>
      {workflow.inputs.length === 0 && <p className="text-sm text-slate-400">This workflow takes no inputs.</p>}
      {workflow.inputs.map((input) => (
        <div key={input.name}>
          <label htmlFor={`input-${input.name}`} className="block text-sm font-medium">
            {input.name}
            {input.required && <span className="text-red-400"> *</span>}
          </label>
          <textarea
            id={`input-${input.name}`}
            rows={2}
            required={input.required}
            value={values[input.name] ?? ""}
            onChange={(e) => setValues((v) => ({ ...v, [input.name]: e.target.value }))}
            aria-describedby={input.description ? `help-${input.name}` : undefined}
            className="mt-1 w-full rounded-md border border-slate-600 bg-slate-950 px-2 py-1 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400"
          />
          {input.description && (
            <p id={`help-${input.name}`} className="text-xs text-slate-500">
              {input.description}
            </p>
          )}
        </div>
      ))}
      {error !== null && <ErrorBox error={error} />}
      <Button type="submit" variant="primary" disabled={busy || !allowed}>
        {busy ? "Starting…" : "Run"}
      </Button>
      {!allowed && (
        <p className="text-xs text-slate-400">Your key is a viewer key; starting runs needs operator or admin.</p>
      )}
    </form>
  );
}

export function WorkflowDetail() {
  const { name = "" } = useParams();
  const { client } = useSession();
  const [workflow, reload] = useAsync(() => client.workflow(name), [client, name]);

  if (workflow.phase === "loading") return <Loading what={`workflow ${name}`} />;
  if (workflow.phase === "error") return <ErrorBox error={workflow.error} retry={reload} />;
  const wf = workflow.value;
  return (
    <div className="flex h-full min-h-0 flex-col gap-4 p-4 lg:flex-row">
      <section className="flex min-h-[320px] flex-1 flex-col" aria-label="Workflow graph">
        <h1 className="text-xl font-bold">{wf.name}</h1>
        <p className="mb-2 text-sm text-slate-400">
          {wf.description || "No description."} {wf.path && <span className="text-slate-500">({wf.path})</span>}
        </p>
        <div className="min-h-0 flex-1 rounded-lg border border-slate-800 bg-slate-900">
          <Dag workflow={wf} />
        </div>
        <p className="mt-2 text-xs text-slate-500">
          Outputs: {wf.outputs.length ? wf.outputs.join(", ") : "none"} · {wf.steps.length} steps in{" "}
          {wf.layers.length} layers
        </p>
      </section>
      <aside className="w-full shrink-0 overflow-auto lg:w-96">
        <RunForm workflow={wf} />
      </aside>
    </div>
  );
}
