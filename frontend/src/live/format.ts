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

  reset(): void {
    this.streaming = null;
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
      add(String(c.text ?? ""), "cyan");
      return join(parts);
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
        const outputs = (c.outputs ?? {}) as Record<string, unknown>;
        for (const [name, value] of Object.entries(outputs)) {
          add(`\n  ${name}: `, "bold");
          add(preview(value, 4000));
        }
        break;
      }
      case "step_failed": {
        const err = (c.error ?? {}) as Record<string, unknown>;
        add(
          `✖ step ${step} failed (attempt ${String(c.attempt ?? "?")}): ${String(err.code ?? "error")}: ${String(err.message ?? "")}${c.will_retry ? " — retrying" : ""}`,
          "boldRed",
        );
        break;
      }
      case "approval_requested":
        add(`⏸ step ${step} waits for approval`, "magenta");
        break;
      case "run_finished": {
        const status = String(c.status ?? "finished");
        const style: Style =
          status === "succeeded" ? "boldGreen" : status === "failed" ? "boldRed" : "boldYellow";
        add(`■ run ${status}`, style);
        const outputs = (c.outputs ?? {}) as Record<string, unknown>;
        for (const [name, value] of Object.entries(outputs)) {
          add(`\n${name}:\n`, "bold");
          add(preview(value, 20_000));
        }
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
