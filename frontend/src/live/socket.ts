// One WebSocket to /api/v1/ws that survives reality: it reconnects with exponential backoff
// (with jitter, capped), and on every (re)connect resubscribes each run with `after` = the last
// seq it delivered, so the server replays exactly what was missed. Events at or below that seq
// are dropped here, so a listener sees each event once, in order — even if the server replays
// an overlap. Close codes 4401/4403 stop the retries: a new key will not appear by waiting.
import type { RunEvent, ServerMessage } from "../api/types";

export type SocketStatus = "connecting" | "open" | "reconnecting" | "unauthorized" | "closed";

export interface SocketOptions {
  url: string;
  key: string | null;
  /** First retry delay; doubles per failed attempt up to maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Injected for tests; defaults to the browser's WebSocket. */
  WebSocketImpl?: typeof WebSocket;
  onStatus?: (status: SocketStatus, detail?: string) => void;
}

type EventListener = (events: RunEvent[]) => void;

interface Subscription {
  after: number;
  listener: EventListener;
}

const PROTOCOL = "orchestra.v1";
// RFC 6455 subprotocols are HTTP tokens; a key with other characters goes in the auth message.
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

export class RunSocket {
  private readonly options: Required<Omit<SocketOptions, "onStatus" | "key">> &
    Pick<SocketOptions, "onStatus" | "key">;
  private readonly subscriptions = new Map<string, Subscription>();
  private ws: WebSocket | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  status: SocketStatus = "connecting";

  constructor(options: SocketOptions) {
    this.options = {
      baseDelayMs: 500,
      maxDelayMs: 10_000,
      WebSocketImpl: globalThis.WebSocket,
      ...options,
    };
    this.connect();
  }

  /** Follow a run from `after` (0 = replay everything stored). Returns the unsubscribe function. */
  subscribe(runId: string, listener: EventListener, after = 0): () => void {
    this.subscriptions.set(runId, { after, listener });
    this.send({ type: "subscribe", run_id: runId, after });
    return () => {
      if (this.subscriptions.get(runId)?.listener !== listener) return;
      this.subscriptions.delete(runId);
      this.send({ type: "unsubscribe", run_id: runId });
    };
  }

  /** The last seq delivered for a run (what a resubscription asks to continue after). */
  lastSeq(runId: string): number {
    return this.subscriptions.get(runId)?.after ?? 0;
  }

  close(): void {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= 1) ws.close(1000, "client closed");
    this.setStatus("closed");
  }

  private setStatus(status: SocketStatus, detail?: string): void {
    this.status = status;
    this.options.onStatus?.(status, detail);
  }

  private send(message: object): void {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(message));
  }

  private connect(): void {
    if (this.stopped) return;
    const { key, url, WebSocketImpl } = this.options;
    const inProtocol = key !== null && key !== "" && TOKEN.test(key);
    const protocols = inProtocol ? [PROTOCOL, `bearer.${key}`] : [PROTOCOL];
    let ws: WebSocket;
    try {
      ws = new WebSocketImpl(url, protocols);
    } catch (exc) {
      this.scheduleReconnect(String(exc));
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      if (!inProtocol && key) ws.send(JSON.stringify({ type: "auth", key }));
      this.attempt = 0;
      this.setStatus("open");
      for (const [runId, sub] of this.subscriptions) {
        ws.send(JSON.stringify({ type: "subscribe", run_id: runId, after: sub.after }));
      }
    };
    ws.onmessage = (message: MessageEvent) => {
      if (this.ws !== ws) return;
      this.handle(message.data);
    };
    ws.onclose = (close: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (close.code === 4401 || close.code === 4403) {
        this.setStatus(
          "unauthorized",
          close.code === 4401
            ? "The server refused the key on the live stream; sign in again."
            : "This key may not follow runs.",
        );
        return;
      }
      this.scheduleReconnect(close.reason || `closed with code ${close.code}`);
    };
    ws.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
  }

  private scheduleReconnect(reason: string): void {
    if (this.stopped) return;
    const { baseDelayMs, maxDelayMs } = this.options;
    const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** this.attempt);
    const jittered = delay / 2 + Math.random() * (delay / 2);
    this.attempt += 1;
    this.setStatus("reconnecting", reason);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, jittered);
  }

  private handle(data: unknown): void {
    let message: ServerMessage;
    try {
      message = JSON.parse(String(data)) as ServerMessage;
    } catch {
      return; // not ours; the contract only sends JSON
    }
    switch (message.type) {
      case "event": {
        const event = message.event;
        const sub =
          this.subscriptions.get(event.run_id) ?? this.subscriptions.get("*") ?? undefined;
        if (!sub) return;
        if (sub !== this.subscriptions.get("*")) {
          if (event.seq <= sub.after) return; // already delivered before a reconnect
          sub.after = event.seq;
        }
        sub.listener([event]);
        return;
      }
      case "ping":
        this.send({ type: "pong" });
        return;
      case "error":
        this.options.onStatus?.(this.status, `${message.code}: ${message.message}`);
        return;
      default:
        return;
    }
  }
}
