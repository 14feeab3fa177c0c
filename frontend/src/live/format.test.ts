import { describe, expect, it } from "vitest";
import { event } from "../test/fakeServer";
import { EventFormatter } from "./format";

const CYAN = "\u001b[36m";
const GREEN = "\u001b[32m";
const RED = "\u001b[31m";

describe("EventFormatter", () => {
  it("colours agents cyan, tools green and errors red", () => {
    const f = new EventFormatter();
    expect(f.format(event(1, "agent_thought", "a", { text: "thinking" })).ansi).toContain(`${CYAN}thinking`);
    expect(f.format(event(2, "tool_call", "a", { tool: "files.read", arguments: { path: "x" } })).ansi).toContain(`${GREEN}→ files.read {"path":"x"}`);
    expect(f.format(event(3, "tool_result", "a", { tool: "files.read", result: "ok" })).ansi).toContain(`${GREEN}← files.read: ok`);
    expect(f.format(event(4, "tool_result", "a", { tool: "shell", error: "denied" })).ansi).toContain(`${RED}← shell failed: denied`);
    expect(f.format(event(5, "error", null, { code: "internal", message: "boom" })).ansi).toContain(`${RED}error internal: boom`);
    expect(f.format(event(6, "log", "a", { level: "error", message: "bad" })).ansi).toContain(`${RED}error: bad`);
  });

  it("streams tokens of one step on one line and ends it before the next event", () => {
    const f = new EventFormatter();
    const plain = [
      event(1, "token", "a", { text: "Hel" }),
      event(2, "token", "a", { text: "lo" }),
      event(3, "step_complete", "a", { outputs: { Out: "Hello" }, usage: { prompt_tokens: 2, completion_tokens: 3 } }),
    ]
      .map((e) => f.format(e).plain)
      .join("");
    const lines = plain.split("\n");
    expect(lines[0]).toMatch(/\[a\] Hello$/);
    expect(lines[1]).toMatch(/✔ step a complete \(5 tokens\)$/);
    expect(lines[2]).toBe("  Out: (the answer above)");
  });

  it("prints a streamed answer once, not again as the final message and the outputs", () => {
    const f = new EventFormatter();
    const answer = "Bees dance to say where flowers are.";
    const plain = [
      event(1, "step_started", "a", { attempt: 1, agent: "w" }),
      event(2, "token", "a", { text: "Bees dance " }),
      event(3, "token", "a", { text: "to say where flowers are." }),
      event(4, "agent_thought", "a", { text: answer, agent: "w" }),
      event(5, "step_complete", "a", { outputs: { Brief: answer }, usage: {} }),
      event(6, "run_finished", null, { status: "succeeded", outputs: { Brief: answer } }),
    ]
      .map((e) => f.format(e).plain)
      .join("");
    expect(plain.split(answer).length - 1).toBe(1);
    expect(plain).toContain("Brief: (the answer above)");
    expect(plain).toContain("Brief: (as printed by step a above)");
  });

  it("still prints an answer that was not streamed, once", () => {
    const f = new EventFormatter();
    const plain = [
      event(1, "agent_thought", "a", { text: "Plain answer" }),
      event(2, "step_complete", "a", { outputs: { Out: "Plain answer", Other: "new text" } }),
    ]
      .map((e) => f.format(e).plain)
      .join("");
    expect(plain.split("Plain answer").length - 1).toBe(1);
    expect(plain).toContain("Other: new text");
  });

  it("reads a rejection as who rejected it and why, not as a failed attempt", () => {
    const f = new EventFormatter();
    const { plain } = f.format(
      event(1, "step_failed", "review", {
        status: "failed",
        will_retry: false,
        error: { type: "StepRejected", code: "rejected", message: "x", retryable: false, by: "alice", reason: "too vague" },
      }),
    );
    expect(plain).toContain("✖ step review rejected by alice: too vague");
    expect(plain).not.toContain("attempt ?");
  });

  it("marks an approval wait with a glyph fonts have, in a readable colour", () => {
    const { ansi, plain } = new EventFormatter().format(event(1, "approval_requested", "review", {}));
    expect(plain).toContain("◆ step review waits for approval");
    expect(plain).not.toContain("\u23f8");
    expect(ansi).not.toContain("\u001b[35m");
  });

  it("uses CRLF for xterm and keeps plain text free of escapes", () => {
    const chunk = new EventFormatter().format(event(1, "agent_thought", "a", { text: "one\ntwo" }));
    expect(chunk.ansi).toContain("one\r\ntwo");
    expect(chunk.plain).toContain("one\ntwo");
    expect(chunk.plain).not.toContain("\u001b");
  });
});
