import { waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RunEvent } from "../api/types";
import { event, fakeSocketServer, WS_URL } from "../test/fakeServer";
import type { FakeSocketServer } from "../test/fakeServer";
import { RunSocket } from "./socket";
import type { SocketStatus } from "./socket";

let fake: FakeSocketServer;
let socket: RunSocket | null = null;

afterEach(() => {
  socket?.close();
  socket = null;
  fake?.stop();
  vi.unstubAllGlobals();
});

function open(key: string | null = "k-123", statuses: SocketStatus[] = []) {
  return new RunSocket({
    url: WS_URL,
    key,
    baseDelayMs: 5,
    maxDelayMs: 20,
    onStatus: (status) => statuses.push(status),
  });
}

describe("RunSocket", () => {
  it("authenticates with the bearer subprotocol and subscribes from seq 0", async () => {
    fake = fakeSocketServer();
    socket = open("k-123");
    socket.subscribe("run-1", () => {});
    await waitFor(() => expect(fake.received).toContainEqual({ type: "subscribe", run_id: "run-1", after: 0 }));
    expect(fake.offered).toEqual([["orchestra.v1", "bearer.k-123"]]);
    expect(fake.received).not.toContainEqual(expect.objectContaining({ type: "auth" }));
  });

  it("sends the key in an auth message when it cannot be a subprotocol", async () => {
    fake = fakeSocketServer();
    socket = open("key with spaces");
    await waitFor(() => expect(fake.received[0]).toEqual({ type: "auth", key: "key with spaces" }));
    expect(fake.offered).toEqual([["orchestra.v1"]]);
  });

  it("reconnects after a drop and resumes after the last seq, delivering each event once", async () => {
    fake = fakeSocketServer();
    const statuses: SocketStatus[] = [];
    socket = open("k", statuses);
    const got: RunEvent[] = [];
    socket.subscribe("run-1", (events) => got.push(...events));
    await waitFor(() => expect(statuses).toContain("open"));
    await waitFor(() => expect(fake.received).toHaveLength(1));
    fake.emit(event(1, "run_started", null));
    fake.emit(event(2, "log", null, { level: "info", message: "two" }));
    await waitFor(() => expect(got.map((e) => e.seq)).toEqual([1, 2]));

    for (const client of fake.server.clients()) client.close({ code: 1006, reason: "network", wasClean: false });
    await waitFor(() => expect(statuses).toContain("reconnecting"));
    await waitFor(() =>
      expect(fake.received).toContainEqual({ type: "subscribe", run_id: "run-1", after: 2 }),
    );
    // A server that replays an overlap: 2 again, then 3.
    fake.emit(event(2, "log", null, { level: "info", message: "two" }));
    fake.emit(event(3, "log", null, { level: "info", message: "three" }));
    await waitFor(() => expect(got.map((e) => e.seq)).toEqual([1, 2, 3]));
    expect(socket.lastSeq("run-1")).toBe(3);
  });

  it("stops retrying when the server refuses the key", async () => {
    fake = fakeSocketServer();
    const statuses: SocketStatus[] = [];
    socket = open("bad", statuses);
    await waitFor(() => expect(statuses).toContain("open"));
    const connections = fake.server.clients().length;
    for (const client of fake.server.clients()) client.close({ code: 4401, reason: "unauthorized", wasClean: true });
    await waitFor(() => expect(statuses).toContain("unauthorized"));
    await new Promise((resolve) => setTimeout(resolve, 60)); // several backoff periods
    expect(statuses).not.toContain("reconnecting");
    expect(fake.server.clients().length).toBeLessThanOrEqual(connections - 1);
  });

  it("answers pings", async () => {
    fake = fakeSocketServer();
    const statuses: SocketStatus[] = [];
    socket = open("k", statuses);
    await waitFor(() => expect(statuses).toContain("open"));
    for (const client of fake.server.clients()) client.send(JSON.stringify({ type: "ping", t: 1 }));
    await waitFor(() => expect(fake.received).toContainEqual({ type: "pong" }));
  });
});
