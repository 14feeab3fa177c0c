import { act, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { usePolling } from "./usePolling";

function setVisibility(state: "visible" | "hidden", announce = true) {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => state });
  if (announce) document.dispatchEvent(new Event("visibilitychange"));
}

function Probe({ load }: { load: () => Promise<number> }) {
  const [state] = usePolling(load, 1000, [load]);
  return (
    <p data-testid="probe">
      {state.phase === "ready" ? `value ${state.value}${state.error ? " (stale)" : ""}` : state.phase}
    </p>
  );
}

/** Let the promise callbacks of an answered request run. */
async function settle() {
  await act(async () => {
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
  });
}

beforeEach(() => {
  vi.useFakeTimers();
  setVisibility("visible", false);
});

afterEach(() => {
  vi.useRealTimers();
  setVisibility("visible", false);
});

describe("usePolling", () => {
  it("loads again each interval while visible, stops while hidden, and loads at once when shown", async () => {
    let calls = 0;
    const load = () => Promise.resolve(++calls);
    render(<Probe load={load} />);
    await settle();
    expect(screen.getByTestId("probe")).toHaveTextContent("value 1");

    await act(async () => vi.advanceTimersByTime(1000));
    await settle();
    expect(screen.getByTestId("probe")).toHaveTextContent("value 2");

    act(() => setVisibility("hidden"));
    await act(async () => vi.advanceTimersByTime(10_000));
    await settle();
    expect(calls).toBe(2);

    act(() => setVisibility("visible"));
    await settle();
    expect(calls).toBe(3);
    expect(screen.getByTestId("probe")).toHaveTextContent("value 3");
  });

  it("never has two requests out at once, and keeps the last value when a poll fails", async () => {
    let calls = 0;
    const pending: ((value: number) => void)[] = [];
    const failures: ((error: Error) => void)[] = [];
    const load = () => {
      calls += 1;
      return calls === 3
        ? new Promise<number>((_, reject) => failures.push(reject))
        : new Promise<number>((resolve) => pending.push(resolve));
    };
    render(<Probe load={load} />);
    await act(async () => vi.advanceTimersByTime(5000)); // the first request has not answered
    expect(calls).toBe(1);
    pending[0](7);
    await settle();
    expect(screen.getByTestId("probe")).toHaveTextContent("value 7");

    await act(async () => vi.advanceTimersByTime(1000));
    pending[1](8);
    await settle();
    await act(async () => vi.advanceTimersByTime(1000));
    failures[0](new Error("server down"));
    await settle();
    expect(screen.getByTestId("probe")).toHaveTextContent("value 8 (stale)");
  });
});
