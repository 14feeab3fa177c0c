// Everything the run page knows about one run, live: the REST snapshot, the WebSocket stream
// folded by runReducer, and an EventLog the terminal reads imperatively. Socket messages are
// buffered and applied once per animation frame, so a burst of thousands of events costs one
// React render and one terminal write per frame rather than one per event.
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";
import { ApiClient, ApiError, socketUrl } from "../api/client";
import type { Run, RunEvent } from "../api/types";
import { initialRunState, isFinished, runReducer } from "./runState";
import type { RunState } from "./runState";
import { RunSocket } from "./socket";
import type { SocketStatus } from "./socket";

type LogListener = (batch: RunEvent[], reset: boolean) => void;

/** The ordered events shown in the terminal; listeners get each appended batch. */
export class EventLog {
  events: RunEvent[] = [];
  private readonly listeners = new Set<LogListener>();

  append(batch: RunEvent[]): void {
    if (batch.length === 0) return;
    for (const event of batch) this.events.push(event);
    for (const listener of this.listeners) listener(batch, false);
  }

  reset(): void {
    this.events = [];
    for (const listener of this.listeners) listener([], true);
  }

  subscribe(listener: LogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function nextFrame(callback: () => void): void {
  if (typeof requestAnimationFrame === "function") requestAnimationFrame(() => callback());
  else setTimeout(callback, 16);
}

export interface RunStream {
  state: RunState;
  log: EventLog;
  socketStatus: SocketStatus;
  socketDetail: string | null;
  loadError: ApiError | Error | null;
  replaying: boolean;
  /** Apply an answer of an action endpoint (cancel, approve...) at once. */
  applyRun: (run: Run) => void;
  /** Re-play the stored events of a finished run from the start, at a watchable pace. */
  replay: () => void;
}

const REPLAY_FRAMES = 240; // about four seconds at 60 frames per second, whatever the run's size

export function useRunStream(runId: string, client: ApiClient): RunStream {
  const [state, dispatch] = useReducer(runReducer, runId, initialRunState);
  const [socketStatus, setSocketStatus] = useState<SocketStatus>("connecting");
  const [socketDetail, setSocketDetail] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<ApiError | Error | null>(null);
  const [replaying, setReplaying] = useState(false);
  const log = useMemo(() => new EventLog(), [runId]);
  const logRef = useRef(log);
  logRef.current = log;
  const replayingRef = useRef(false);
  const seenRef = useRef(0);

  const applyRun = useCallback((run: Run) => dispatch({ type: "snapshot", run }), []);

  const refresh = useCallback(() => {
    client.run(runId).then(applyRun, (exc: unknown) => {
      setLoadError(exc instanceof Error ? exc : new Error(String(exc)));
    });
  }, [client, runId, applyRun]);

  useEffect(() => {
    log.reset();
    seenRef.current = 0;
    dispatch({ type: "reset", runId });
    setLoadError(null);
    refresh();

    let pending: RunEvent[] = [];
    let scheduled = false;
    let disposed = false;
    const flush = () => {
      scheduled = false;
      if (disposed || pending.length === 0) return;
      const batch = pending;
      pending = [];
      dispatch({ type: "events", events: batch });
      if (!replayingRef.current) log.append(batch);
      if (batch.some((event) => event.type === "run_finished")) refresh();
    };
    const socket = new RunSocket({
      url: socketUrl(client.baseUrl),
      key: client.key,
      onStatus: (status, detail) => {
        setSocketStatus(status);
        setSocketDetail(detail ?? null);
      },
    });
    const unsubscribe = socket.subscribe(
      runId,
      (events) => {
        for (const event of events) {
          if (event.seq <= seenRef.current) continue;
          seenRef.current = event.seq;
          pending.push(event);
        }
        if (!scheduled && pending.length > 0) {
          scheduled = true;
          nextFrame(flush);
        }
      },
      0,
    );
    return () => {
      disposed = true;
      unsubscribe();
      socket.close();
    };
  }, [client, runId, refresh, log]);

  const replay = useCallback(() => {
    if (replayingRef.current) return;
    const stored = log.events.slice();
    replayingRef.current = true;
    setReplaying(true);
    dispatch({ type: "reset" });
    log.reset();
    const perFrame = Math.max(1, Math.ceil(stored.length / REPLAY_FRAMES));
    let index = 0;
    const step = () => {
      if (logRef.current !== log) return; // the page moved to another run
      const batch = stored.slice(index, index + perFrame);
      index += batch.length;
      dispatch({ type: "events", events: batch });
      log.append(batch);
      if (index < stored.length) nextFrame(step);
      else {
        replayingRef.current = false;
        setReplaying(false);
        refresh();
      }
    };
    nextFrame(step);
  }, [refresh, log]);

  return {
    state,
    log,
    socketStatus,
    socketDetail,
    loadError,
    replaying,
    applyRun,
    replay,
  };
}

export { isFinished };
