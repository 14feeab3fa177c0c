// A stand-in for `orchestra serve` inside jsdom: canned HTTP answers (fetch) and a mock-socket
// WebSocket server at the contract's URL. Unit tests drive the UI through these; the
// end-to-end test (e2e/) runs the same UI against the real server.
import { Server, WebSocket as MockWebSocket } from "mock-socket";
import { vi } from "vitest";
import type { RunEvent } from "../api/types";

export const WS_URL = "ws://localhost:3000/api/v1/ws";

export interface Call {
  method: string;
  path: string;
  body: unknown;
  auth: string | null;
}

type Handler = (call: Call) => { status?: number; body: unknown } | unknown;

/** Routes are "METHOD /path" (path without /api/v1 and without the query string). */
export function fakeHttp(routes: Record<string, Handler>): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal("fetch", async (input: string, init: RequestInit = {}) => {
    const url = new URL(input, "http://localhost:3000");
    const method = (init.method ?? "GET").toUpperCase();
    const path = url.pathname.replace(/^\/api\/v1/, "");
    const headers = (init.headers ?? {}) as Record<string, string>;
    const call: Call = {
      method,
      path: path + url.search,
      body: init.body ? JSON.parse(String(init.body)) : undefined,
      auth: headers.Authorization ?? null,
    };
    calls.push(call);
    const handler = routes[`${method} ${path}`];
    if (!handler) {
      return new Response(
        JSON.stringify({ error: { code: "not_found", message: `no route ${method} ${path}` } }),
        { status: 404, headers: { "Content-Type": "application/json" } },
      );
    }
    const answer = handler(call) as { status?: number; body?: unknown };
    const withStatus = answer && typeof answer === "object" && "body" in answer;
    return new Response(JSON.stringify(withStatus ? answer.body : answer), {
      status: withStatus ? (answer.status ?? 200) : 200,
      headers: { "Content-Type": "application/json" },
    });
  });
  return calls;
}

export interface FakeSocketServer {
  server: Server;
  received: unknown[];
  /** The subprotocol lists clients offered, one per connection. */
  offered: string[][];
  /** Send an event to every connected client. */
  emit: (event: RunEvent) => void;
  stop: () => void;
}

export function fakeSocketServer(): FakeSocketServer {
  vi.stubGlobal("WebSocket", MockWebSocket);
  const offered: string[][] = [];
  const server = new Server(WS_URL, {
    selectProtocol: (protocols: string[]) => {
      offered.push(protocols);
      return "orchestra.v1";
    },
  });
  const received: unknown[] = [];
  server.on("connection", (socket) => {
    socket.on("message", (data) => received.push(JSON.parse(String(data))));
  });
  return {
    server,
    received,
    offered,
    emit: (event) => {
      for (const client of server.clients()) client.send(JSON.stringify({ type: "event", event }));
    },
    stop: () => server.stop(),
  };
}

let clock = 1_700_000_000;

export function event(
  seq: number,
  type: string,
  stepId: string | null,
  content: Record<string, unknown> = {},
  runId = "run-1",
): RunEvent {
  clock += 1;
  return { type, timestamp: clock, run_id: runId, step_id: stepId, seq, content };
}
