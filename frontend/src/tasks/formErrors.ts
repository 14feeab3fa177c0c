// Turns the server's refusal of a new task into messages next to the fields that caused
// them. Three shapes reach the form (docs/api.md):
//  * 422 validation_error with details.fields = [{loc: ["body", "<field>", ...], message}]
//    (the JSON schema of TaskDraft);
//  * 404 not_found with details.diagnostics[].code = "unknown-workflow" (no such workflow);
//  * 422 validation_error with details.error = "invalid_inputs" (a workflow input missing).
// Anything else is shown above the form with the server's message.
import { ApiError } from "../api/client";

export const TASK_FIELDS = [
  "title",
  "description",
  "complexity",
  "capabilities",
  "priority",
  "workflow",
  "inputs",
] as const;

export type TaskField = (typeof TASK_FIELDS)[number];

export interface FormErrors {
  fields: Partial<Record<TaskField, string>>;
  /** What belongs to no field (or to one this form does not show). */
  general: string | null;
}

interface FieldDetail {
  loc?: unknown[];
  message?: string;
}

function isField(name: string): name is TaskField {
  return (TASK_FIELDS as readonly string[]).includes(name);
}

/** pydantic's "Value error, capability 'X' must …" reads better without its prefix. */
function tidy(message: string): string {
  return message.replace(/^Value error, /, "");
}

export function taskFormErrors(error: unknown): FormErrors {
  if (!(error instanceof ApiError)) {
    return { fields: {}, general: error instanceof Error ? error.message : String(error) };
  }
  const details = (error.details ?? {}) as {
    fields?: FieldDetail[];
    diagnostics?: { code?: string; message?: string; hint?: string | null }[];
    error?: string;
  };
  const fields: FormErrors["fields"] = {};
  const rest: string[] = [];
  for (const item of details.fields ?? []) {
    const loc = (item.loc ?? []).map(String);
    const name = loc[0] === "body" ? loc[1] : loc[0];
    const message = tidy(item.message ?? "is not valid");
    // "capabilities.2" or "inputs.Topic": name the element inside the field's message.
    const where = loc.slice(loc[0] === "body" ? 2 : 1);
    const text = where.length > 0 && name === "inputs" ? `${where.join(".")}: ${message}` : message;
    if (name !== undefined && isField(name)) {
      fields[name] = fields[name] ? `${fields[name]}; ${text}` : text;
    } else {
      rest.push(name ? `${name}: ${text}` : text);
    }
  }
  const unknownWorkflow = (details.diagnostics ?? []).find((d) => d.code === "unknown-workflow");
  if (unknownWorkflow) {
    fields.workflow = [unknownWorkflow.message, unknownWorkflow.hint].filter(Boolean).join(". ");
  } else if (details.error === "invalid_inputs") {
    fields.inputs = error.message;
  }
  const general =
    rest.length > 0
      ? rest.join("; ")
      : Object.keys(fields).length === 0
        ? error.message
        : null;
  return { fields, general };
}
