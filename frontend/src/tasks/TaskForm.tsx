// "New task": what POST /tasks takes. The server is the one validator (the same JSON schema
// as `orchestra tasks create`); its refusal is shown next to each field it names.
import { useState } from "react";
import type { FormEvent, ReactNode } from "react";
import { useSession } from "../api/auth";
import { createTask } from "../api/team";
import type { Task, TaskDraft } from "../api/team";
import { Button } from "../components/ui";
import { FIELD } from "../components/teamUi";
import { useAsync } from "../live/useAsync";
import { taskFormErrors } from "./formErrors";
import type { FormErrors, TaskField } from "./formErrors";

interface Values {
  title: string;
  description: string;
  complexity: string;
  capabilities: string;
  priority: string;
  workflow: string;
  inputs: Record<string, string>;
}

const EMPTY: Values = {
  title: "",
  description: "",
  complexity: "5",
  capabilities: "",
  priority: "5",
  workflow: "",
  inputs: {},
};

/** A number field's text as the server should see it: a number when it is one, else the
 * text itself (so the server's message names the field instead of the UI guessing). */
function numberOrText(text: string): number | string | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : trimmed;
}

export function draftFrom(values: Values): TaskDraft {
  const draft: Record<string, unknown> = { title: values.title.trim() };
  if (values.description.trim()) draft.description = values.description.trim();
  const complexity = numberOrText(values.complexity);
  if (complexity !== undefined) draft.complexity = complexity;
  const priority = numberOrText(values.priority);
  if (priority !== undefined) draft.priority = priority;
  const capabilities = values.capabilities.split(/[\s,]+/).filter(Boolean);
  if (capabilities.length > 0) draft.capabilities = capabilities;
  if (values.workflow) {
    draft.workflow = values.workflow;
    const inputs = Object.fromEntries(
      Object.entries(values.inputs).filter(([, value]) => value.trim() !== ""),
    );
    if (Object.keys(inputs).length > 0) draft.inputs = inputs;
  }
  return draft as unknown as TaskDraft;
}

function Field({
  name,
  label,
  help,
  errors,
  children,
}: {
  name: TaskField;
  label: string;
  help?: string;
  errors: FormErrors | null;
  children: (props: {
    id: string;
    "aria-invalid": boolean;
    "aria-describedby": string | undefined;
  }) => ReactNode;
}) {
  const id = `task-${name}`;
  const error = errors?.fields[name];
  const described = [error ? `${id}-error` : null, help ? `${id}-help` : null].filter(Boolean).join(" ");
  return (
    <div>
      <label htmlFor={id} className="block text-sm font-medium">
        {label}
      </label>
      {children({ id, "aria-invalid": Boolean(error), "aria-describedby": described || undefined })}
      {error && (
        <p id={`${id}-error`} data-testid={`${id}-error`} className="mt-0.5 text-xs text-red-300">
          {error}
        </p>
      )}
      {help && (
        <p id={`${id}-help`} className="mt-0.5 text-xs text-slate-500">
          {help}
        </p>
      )}
    </div>
  );
}

export function TaskForm({ onCreated, onClose }: { onCreated: (task: Task) => void; onClose: () => void }) {
  const { client } = useSession();
  const [values, setValues] = useState<Values>(EMPTY);
  const [errors, setErrors] = useState<FormErrors | null>(null);
  const [busy, setBusy] = useState(false);
  const [workflows] = useAsync(() => client.workflows(), [client]);
  const chosen =
    workflows.phase === "ready" ? workflows.value.find((w) => w.name === values.workflow) : undefined;

  const set = (key: keyof Values) => (value: string) => setValues((v) => ({ ...v, [key]: value }));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      const task = await createTask(client, draftFrom(values));
      setErrors(null);
      setValues(EMPTY);
      onCreated(task);
    } catch (exc) {
      setErrors(taskFormErrors(exc));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      onSubmit={submit}
      aria-label="New task"
      noValidate
      className="mb-4 grid gap-3 rounded-lg border border-slate-700 bg-slate-900 p-4 md:grid-cols-2"
    >
      <h2 className="text-lg font-semibold md:col-span-2">New task</h2>
      {errors?.general && (
        <p role="alert" className="rounded border border-red-700 bg-red-950 p-2 text-sm text-red-100 md:col-span-2">
          {errors.general}
        </p>
      )}
      {errors && !errors.general && (
        <p role="alert" className="text-sm text-red-300 md:col-span-2">
          The server refused the task; see the fields marked below.
        </p>
      )}
      <div className="md:col-span-2">
        <Field name="title" label="Title" errors={errors}>
          {(props) => (
            <input {...props} value={values.title} onChange={(e) => set("title")(e.target.value)} className={FIELD} />
          )}
        </Field>
      </div>
      <div className="md:col-span-2">
        <Field name="description" label="Description" help="What the agent is asked to do." errors={errors}>
          {(props) => (
            <textarea
              {...props}
              rows={3}
              value={values.description}
              onChange={(e) => set("description")(e.target.value)}
              className={FIELD}
            />
          )}
        </Field>
      </div>
      <Field name="complexity" label="Complexity" help="1 (trivial) to 10 (hardest)." errors={errors}>
        {(props) => (
          <input
            {...props}
            type="number"
            value={values.complexity}
            onChange={(e) => set("complexity")(e.target.value)}
            className={FIELD}
          />
        )}
      </Field>
      <Field name="priority" label="Priority" help="0 to 9; higher is taken first." errors={errors}>
        {(props) => (
          <input
            {...props}
            type="number"
            value={values.priority}
            onChange={(e) => set("priority")(e.target.value)}
            className={FIELD}
          />
        )}
      </Field>
      <div className="md:col-span-2">
        <Field
          name="capabilities"
          label="Capabilities"
          help="Tags every taker must have, separated by commas or spaces (e.g. research, writing)."
          errors={errors}
        >
          {(props) => (
            <input
              {...props}
              value={values.capabilities}
              onChange={(e) => set("capabilities")(e.target.value)}
              className={FIELD}
            />
          )}
        </Field>
      </div>
      <div className="md:col-span-2">
        <Field
          name="workflow"
          label="Workflow"
          help="Optional: run this workflow, its open steps filled by the agent that takes the task."
          errors={errors}
        >
          {(props) => (
            <select
              {...props}
              value={values.workflow}
              onChange={(e) => setValues((v) => ({ ...v, workflow: e.target.value, inputs: {} }))}
              className={FIELD}
            >
              <option value="">none: one step by the agent that takes it</option>
              {workflows.phase === "ready" &&
                workflows.value.map((w) => (
                  <option key={w.name} value={w.name}>
                    {w.name}
                  </option>
                ))}
            </select>
          )}
        </Field>
      </div>
      {values.workflow && (
        <fieldset
          className="rounded border border-slate-700 p-3 md:col-span-2"
          aria-describedby={errors?.fields.inputs ? "task-inputs-error" : undefined}
        >
          <legend className="px-1 text-sm font-medium">Inputs of {values.workflow}</legend>
          {chosen && chosen.inputs.length === 0 && (
            <p className="text-xs text-slate-400">This workflow takes no inputs.</p>
          )}
          {chosen?.inputs.map((input) => (
            <div key={input.name} className="mb-2">
              <label htmlFor={`task-input-${input.name}`} className="block text-xs">
                {input.name}
                {input.required && <span className="text-red-400"> *</span>}
              </label>
              <input
                id={`task-input-${input.name}`}
                value={values.inputs[input.name] ?? ""}
                placeholder={input.default == null ? "" : String(input.default)}
                onChange={(e) =>
                  setValues((v) => ({ ...v, inputs: { ...v.inputs, [input.name]: e.target.value } }))
                }
                className={FIELD}
              />
            </div>
          ))}
          {errors?.fields.inputs && (
            <p id="task-inputs-error" data-testid="task-inputs-error" className="text-xs text-red-300">
              {errors.fields.inputs}
            </p>
          )}
        </fieldset>
      )}
      <div className="flex gap-2 md:col-span-2">
        <Button type="submit" variant="primary" disabled={busy}>
          {busy ? "Creating…" : "Create task"}
        </Button>
        <Button onClick={onClose}>Close</Button>
      </div>
    </form>
  );
}
