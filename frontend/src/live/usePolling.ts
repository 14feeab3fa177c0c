// Data that changes on the server without telling us: load it, then load it again every
// `intervalMs` while the tab is visible (a hidden tab costs the server nothing; showing it
// again loads at once). The next request starts only after the previous one answered, so a
// slow server is never asked twice at a time. A failed poll keeps the last value and
// exposes the error next to it, so a blip does not blank the page.
import { useCallback, useEffect, useRef, useState } from "react";

export type Polled<T> =
  | { phase: "loading" }
  | { phase: "error"; error: unknown }
  | { phase: "ready"; value: T; error: unknown | null };

function visible(): boolean {
  return typeof document === "undefined" || document.visibilityState !== "hidden";
}

export function usePolling<T>(
  load: () => Promise<T>,
  intervalMs: number,
  deps: unknown[],
): [Polled<T>, () => void] {
  const [state, setState] = useState<Polled<T>>({ phase: "loading" });
  const stableLoad = useCallback(load, deps);
  const kick = useRef<() => void>(() => {});
  const lastLoad = useRef<typeof stableLoad | null>(null);

  useEffect(() => {
    let alive = true;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let inFlight = false;
    let again = false;
    // New arguments show loading; a new interval alone keeps what is on screen.
    if (lastLoad.current !== stableLoad) setState({ phase: "loading" });
    lastLoad.current = stableLoad;

    const schedule = () => {
      if (timer !== null) clearTimeout(timer);
      timer = alive && visible() ? setTimeout(tick, intervalMs) : null;
    };
    const tick = () => {
      timer = null;
      if (!alive) return;
      if (inFlight) {
        again = true; // a refresh asked for while a request is out: run once it answers
        return;
      }
      inFlight = true;
      stableLoad().then(
        (value) => {
          if (alive) setState({ phase: "ready", value, error: null });
        },
        (error: unknown) => {
          if (!alive) return;
          setState((prev) =>
            prev.phase === "ready" ? { ...prev, error } : { phase: "error", error },
          );
        },
      ).finally(() => {
        inFlight = false;
        if (!alive) return;
        if (again) {
          again = false;
          tick();
        } else schedule();
      });
    };
    const onVisibility = () => {
      if (visible()) tick();
      else if (timer !== null) {
        clearTimeout(timer);
        timer = null;
      }
    };
    kick.current = tick;
    document.addEventListener("visibilitychange", onVisibility);
    tick();
    return () => {
      alive = false;
      if (timer !== null) clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [stableLoad, intervalMs]);

  const refresh = useCallback(() => kick.current(), []);
  return [state, refresh];
}
