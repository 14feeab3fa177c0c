// How an event reads in the run terminal. One formatter produces both the ANSI text written to
// xterm and the plain text of the accessible log mirror, so the two never disagree.
// Colours follow the seed: agent output cyan, tools green, errors red; lifecycle dim or bold.
import type { RunEvent } from "../api/types";

const ESC = "\u001b[";
const RESET = `${ESC}0m`;
const STYLE = {
  dim: `${ESC}2m`,
  bold: `${ESC}1m`,
  cyan: `${ESC}36m`,
  green: `${ESC}32m`,
  red: `${ESC}31m`,
  yellow: `${ESC}33m`,
  magenta: `${ESC}35m`,
  boldGreen: `${ESC}1;32m`,
  boldRed: `${ESC}1;31m`,
  boldYellow: `${ESC}1;33m`,
} as const;

type Style = keyof typeof STYLE | null;

export interface Chunk {
  ansi: string;
  plain: string;
}

const MAX_VALUE = 2000;

export function preview(value: unknown, max = MAX_VALUE): string {
  let text: string;
  if (typeof value === "string") text = value;
  else {
    try {
      text = JSON.stringify(value);
    } catch {
      text = String(value);
    }
  }
  if (text === undefined) text = "";
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

function paint(text: string, style: Style): string {
  const body = text.replace(/\r?\n/g, "\r\n");
  return style ? `${STYLE[style]}${body}${RESET}` : body;
}

function timeOf(timestamp: number | string): string {
  const date =
    typeof timestamp === "number" ? new Date(timestamp * 1000) : new Date(String(timestamp));
  if (Number.isNaN(date.getTime())) return "--:--:--";
  return date.toTimeString().slice(0, 8);
}

/**
 * Turns events into terminal chunks. Stateful only for token streams: consecutive `token`
 * events of one step continue the same line; anything else first ends that line.
 */
export class EventFormatter {
  private streaming: string | null = null;
  /** Per step: the text its token stream printed, so the final message is not printed again. */
  private streamed = new Map<string, string>();
  /** Every model answer already on screen (trimmed), with the step that printed it. */
  private shown = new Map<string, string>();

  reset(): void {
    this.streaming = null;
    this.streamed.clear();
    this.shown.clear();
  }

  /** The answer was printed already (streamed, or as an earlier message or output). */
  private alreadyShown(text: string): string | undefined {
    const key = text.trim();
    return key === "" ? undefined : this.shown.get(key);
  }

  private remember(text: string, step: string): void {
    const key = text.trim();
    if (key !== "" && !this.shown.has(key)) this.shown.set(key, step);
  }

  format(event: RunEvent): Chunk {
    const parts: Chunk[] = [];
    const c = event.content ?? {};
    const step = event.step_id ?? "run";
    const add = (text: string, style: Style = null) =>
      parts.push({ ansi: paint(text, style), plain: text });

    if (event.type === "token") {
      if (this.streaming !== step) {
        if (this.streaming !== null) add("\n");
        add(`${timeOf(event.timestamp)} [${step}] `, "dim");
        this.streaming = step;
      }
      const text = String(c.text ?? "");
      this.streamed.set(step, (this.streamed.get(step) ?? "") + text);
      add(text, "cyan");
      return join(parts);
    }
    if (event.type === "agent_thought") {
      // The final message of a streamed answer repeats the tokens already on screen.
      const text = String(c.text ?? "");
      const streamed = this.streamed.get(step);
      this.streamed.delete(step);
      if (streamed !== undefined) this.remember(streamed, step);
      if (this.alreadyShown(text) !== undefined || text.trim() === "") {
        return join(parts);
      }
      this.remember(text, step);
    }
    if (event.type === "step_complete") {
      const streamed = this.streamed.get(step);
      if (streamed !== undefined) this.remember(streamed, step);
    }
    if (event.type === "step_started" || (event.type === "log" && c.stream_restart)) {
      this.streamed.delete(step); // a new attempt, or a restarted stream: the old text is void
    }
    if (this.streaming !== null) {
      add("\n");
      this.streaming = null;
    }
    add(`${timeOf(event.timestamp)} [${step}] `, "dim");
    switch (event.type) {
      case "run_started":
        add(`▶ run started: ${String(c.workflow ?? "")} ${preview(c.inputs ?? {}, 500)}`, "bold");
        break;
      case "step_started":
        add(
          `── step ${step} started (attempt ${String(c.attempt ?? 1)}, agent ${String(c.agent ?? "?")})`,
          "bold",
        );
        break;
      case "agent_thought":
        add(String(c.text ?? ""), "cyan");
        break;
      case "tool_call":
        add(`→ ${String(c.tool ?? "tool")} ${preview(c.arguments ?? {}, 500)}`, "green");
        break;
      case "tool_result":
        if (c.error) add(`← ${String(c.tool ?? "tool")} failed: ${preview(c.error, 500)}`, "red");
        else add(`← ${String(c.tool ?? "tool")}: ${preview(c.result, 1000)}`, "green");
        break;
      case "log": {
        const level = String(c.level ?? "info").toLowerCase();
        const style: Style =
          level === "error" || level === "critical"
            ? "red"
            : level === "warning"
              ? "yellow"
              : level === "debug"
                ? "dim"
                : null;
        add(`${level}: ${String(c.message ?? "")}`, style);
        break;
      }
      case "step_complete": {
        add(`✔ step ${step} complete (${tokensOf(c.usage)} tokens)`, "boldGreen");
        this.addOutputs(c.outputs, step, "  ", " ", 4000, add);
        break;
      }
      case "step_failed": {
        const err = (c.error ?? {}) as Record<string, unknown>;
        if (err.code === "rejected" || err.type === "StepRejected") {
          const reason = err.reason ? `: ${String(err.reason)}` : "";
          add(`✖ step ${step} rejected by ${String(err.by || "a reviewer")}${reason}`, "boldRed");
          break;
        }
        const attempt = c.attempt !== undefined && c.attempt !== null ? ` (attempt ${String(c.attempt)})` : "";
        const message = err.message ? `: ${String(err.message)}` : "";
        add(
          `✖ step ${step} failed${attempt}: ${String(err.code ?? err.type ?? "error")}${message}${c.will_retry ? " — retrying" : ""}`,
          "boldRed",
        );
        break;
      }
      case "approval_requested":
        // U+25C6 is in every common monospace font (U+23F8 drew an empty box); bold yellow
        // reads on the dark background where magenta did not.
        add(`◆ step ${step} waits for approval`, "boldYellow");
        break;
      case "run_finished": {
        const status = String(c.status ?? "finished");
        const style: Style =
          status === "succeeded" ? "boldGreen" : status === "failed" ? "boldRed" : "boldYellow";
        add(`■ run ${status}`, style);
        this.addOutputs(c.outputs, step, "", "\n", 20_000, add);
        if (c.error) add(`\n${preview(c.error, 1000)}`, "red");
        break;
      }
      case "error":
        add(`error ${String(c.code ?? "")}: ${String(c.message ?? "")}`, "red");
        break;
      default:
        add(`${event.type} ${preview(c, 500)}`, "dim");
    }
    add("\n");
    return join(parts);
  }

  /** Outputs, each printed once: a value already on screen is referred to, not repeated. */
  private addOutputs(
    outputs: unknown,
    step: string,
    indent: string,
    gap: string,
    max: number,
    add: (text: string, style?: Style) => void,
  ): void {
    for (const [name, value] of Object.entries((outputs ?? {}) as Record<string, unknown>)) {
      const text = typeof value === "string" ? value : preview(value, max);
      const where = this.alreadyShown(text);
      if (where !== undefined) {
        add(`\n${indent}${name}: `, "bold");
        add(where === step ? "(the answer above)" : `(as printed by step ${where} above)`, "dim");
        continue;
      }
      add(`\n${indent}${name}:${gap}`, "bold");
      add(preview(value, max));
      this.remember(text, step);
    }
  }
}

/** Total tokens of a usage record; servers may send only the prompt and completion counts. */
export function tokensOf(usage: unknown): number {
  const u = (usage ?? {}) as Record<string, unknown>;
  if (typeof u.total_tokens === "number") return u.total_tokens;
  return Number(u.prompt_tokens ?? 0) + Number(u.completion_tokens ?? 0);
}

function join(parts: Chunk[]): Chunk {
  let ansi = "";
  let plain = "";
  for (const part of parts) {
    ansi += part.ansi;
    plain += part.plain;
  }
  return { ansi, plain };
}
