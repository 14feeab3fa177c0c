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
    expect(lines[2]).toBe("  Out: Hello");
  });

  it("uses CRLF for xterm and keeps plain text free of escapes", () => {
    const chunk = new EventFormatter().format(event(1, "agent_thought", "a", { text: "one\ntwo" }));
    expect(chunk.ansi).toContain("one\r\ntwo");
    expect(chunk.plain).toContain("one\ntwo");
    expect(chunk.plain).not.toContain("\u001b");
  });
});
