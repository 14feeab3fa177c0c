// The run terminal: xterm.js (fit add-on) fed from an EventLog, one write per batch, plus a
// plain-text mirror of the last lines in an ARIA live log. The mirror is what screen readers
// (and tests) read: xterm draws its own rows, which assistive technology cannot follow well.
import { memo, useEffect, useRef } from "react";
import { Terminal as XTerm } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";
import type { RunEvent } from "../api/types";
import { EventFormatter } from "../live/format";
import type { EventLog } from "../live/useRunStream";

const MIRROR_LINES = 400;

/** Keeps the last MIRROR_LINES lines of plain text as DOM rows, editing only what changed. */
class LineMirror {
  private readonly root: HTMLElement;
  private current: HTMLElement | null = null;

  constructor(root: HTMLElement) {
    this.root = root;
  }

  clear(): void {
    this.root.replaceChildren();
    this.current = null;
  }

  write(text: string): void {
    let pieces = text.split("\n");
    if (pieces.length > MIRROR_LINES + 1) {
      // The batch alone fills the mirror: build only its tail instead of adding and trimming.
      this.clear();
      pieces = pieces.slice(pieces.length - MIRROR_LINES - 1);
    }
    pieces.forEach((piece, index) => {
      if (index > 0) this.current = null; // a newline ends the current row
      if (piece === "") return;
      if (this.current === null) {
        this.current = document.createElement("div");
        this.root.appendChild(this.current);
      }
      this.current.textContent = (this.current.textContent ?? "") + piece;
    });
    while (this.root.childElementCount > MIRROR_LINES && this.root.firstChild) {
      if (this.root.firstChild === this.current) break;
      this.root.removeChild(this.root.firstChild);
    }
  }
}

function createXterm(host: HTMLElement): { term: XTerm; fit: FitAddon } | null {
  try {
    const term = new XTerm({
      convertEol: false,
      disableStdin: true,
      cursorBlink: false,
      scrollback: 20_000,
      fontSize: 13,
      fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
      theme: { background: "#020617", foreground: "#e2e8f0" },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host);
    return { term, fit };
  } catch (exc) {
    // Without a layout engine (or with a broken canvas) the mirror below still shows the log.
    console.warn("terminal rendering unavailable:", exc);
    return null;
  }
}

/**
 * `step` filters the terminal to one step's events (the step selected on the page); the
 * whole log is re-formatted when it changes, so a filtered view reads like a log of its own.
 */
export const Terminal = memo(function Terminal({ log, step = null }: { log: EventLog; step?: string | null }) {
  const hostRef = useRef<HTMLDivElement>(null);
  const mirrorRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const host = hostRef.current;
    const mirrorRoot = mirrorRef.current;
    if (!host || !mirrorRoot) return;
    const view = createXterm(host);
    const mirror = new LineMirror(mirrorRoot);
    const formatter = new EventFormatter();

    const fit = () => {
      try {
        view?.fit.fit();
      } catch {
        // not laid out yet (hidden tab); the next resize fits it
      }
    };
    fit();
    const observer = typeof ResizeObserver === "function" ? new ResizeObserver(fit) : null;
    observer?.observe(host);

    const write = (batch: RunEvent[]) => {
      let ansi = "";
      let plain = "";
      for (const event of batch) {
        if (step !== null && event.step_id !== step) continue;
        const chunk = formatter.format(event);
        ansi += chunk.ansi;
        plain += chunk.plain;
      }
      view?.term.write(ansi);
      mirror.write(plain);
    };
    mirror.clear();
    write(log.events);
    const unsubscribe = log.subscribe((batch, reset) => {
      if (reset) {
        formatter.reset();
        view?.term.reset();
        mirror.clear();
        return;
      }
      write(batch);
    });
    return () => {
      unsubscribe();
      observer?.disconnect();
      view?.term.dispose();
    };
  }, [log, step]);

  return (
    <section
      aria-label="Run terminal"
      data-step-filter={step ?? ""}
      className="relative flex h-full min-h-0 flex-col"
    >
      <div
        ref={hostRef}
        data-testid="xterm-host"
        className="min-h-0 flex-1 overflow-hidden rounded-md bg-slate-950 p-1"
      />
      <div
        ref={mirrorRef}
        role="log"
        aria-live="polite"
        aria-label="Run log"
        data-testid="terminal-log"
        className="sr-only"
      />
    </section>
  );
});
