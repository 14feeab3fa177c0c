// Re-run a run: the same workflow with its inputs, as they were or edited (POST /runs).
import { useState } from "react";
import type { FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { useSession } from "../api/auth";
import type { Run, Workflow } from "../api/types";
import { Button, ErrorBox } from "./ui";

function asText(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The value to send: non-text inputs go back as the JSON they were shown as, when it parses. */
function fromText(text: string, original: unknown): unknown {
  if (typeof original === "string" || original === undefined || original === null) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function RerunForm({ run, workflow, onClose }: { run: Run; workflow: Workflow | null; onClose: () => void }) {
  const { client } = useSession();
  const navigate = useNavigate();
  const specs = workflow?.inputs ?? [];
  const names = [...specs.map((i) => i.name), ...Object.keys(run.inputs ?? {}).filter((n) => !specs.some((i) => i.name === n))];
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(names.map((name) => [name, asText(run.inputs?.[name])])),
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const inputs: Record<string, unknown> = {};
    for (const name of names) {
      const text = values[name] ?? "";
      const original = run.inputs?.[name];
      if (text === "" && original === undefined) continue; // left to the workflow's default
      inputs[name] = fromText(text, original);
    }
    try {
      const started = await client.startRun(run.workflow, inputs);
      navigate(`/runs/${encodeURIComponent(started.id)}`);
    } catch (exc) {
      setError(exc);
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} aria-label="Re-run inputs" className="space-y-2 border-b border-slate-800 bg-slate-900 px-4 py-3">
      <h2 className="font-semibold">Re-run {run.workflow}</h2>
      {names.length === 0 && <p className="text-sm text-slate-400">This workflow takes no inputs.</p>}
      <div className="grid gap-2 md:grid-cols-2">
        {names.map((name) => (
          <div key={name}>
            <label htmlFor={`rerun-${name}`} className="block text-sm font-medium">
              {name}
            </label>
            <textarea
              id={`rerun-${name}`}
              rows={2}
              value={values[name] ?? ""}
              onChange={(e) => setValues((v) => ({ ...v, [name]: e.target.value }))}
              className="mt-1 w-full rounded-md border border-slate-600 bg-slate-950 px-2 py-1 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400"
            />
          </div>
        ))}
      </div>
      {error !== null && <ErrorBox error={error} />}
      <div className="flex gap-2">
        <Button type="submit" variant="primary" disabled={busy}>
          {busy ? "Starting…" : "Start run"}
        </Button>
        <Button onClick={onClose}>Close</Button>
      </div>
    </form>
  );
}
