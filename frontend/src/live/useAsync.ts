// Load-once data for a page: loading / error / value, plus reload. A reload keeps showing the
// previous value until the new one arrives (no flicker on refresh); new arguments show loading.
// Stale answers (the arguments changed while a request was in flight) are dropped.
import { useCallback, useEffect, useRef, useState } from "react";

export type Async<T> =
  | { phase: "loading" }
  | { phase: "error"; error: unknown }
  | { phase: "ready"; value: T };

export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): [Async<T>, () => void] {
  const [state, setState] = useState<Async<T>>({ phase: "loading" });
  const [generation, setGeneration] = useState(0);
  const stableLoad = useCallback(load, deps);
  const lastLoad = useRef<typeof stableLoad | null>(null);

  useEffect(() => {
    let current = true;
    if (lastLoad.current !== stableLoad) setState({ phase: "loading" });
    lastLoad.current = stableLoad;
    stableLoad().then(
      (value) => current && setState({ phase: "ready", value }),
      (error: unknown) => current && setState({ phase: "error", error }),
    );
    return () => {
      current = false;
    };
  }, [stableLoad, generation]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return [state, reload];
}
