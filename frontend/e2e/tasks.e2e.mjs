// End to end: the task board against a real `orchestra serve` (its dispatcher, its agents on
// the scripted echo model) in Chromium. The test signs in, pauses the one agent left free
// (the others are paused through the API), is refused a task without a title (the server's
// 422, shown at the field), queues a task with no capabilities from the board's form, sees
// it wait in Queued with the dispatcher's reason, resumes the agent and watches the card
// cross the board to Complete; then it opens the task page (the updates timeline, the run
// it became), the run page, and the agent that took the task.
// Saves test-artifacts/tasks-e2e.png.
//
// Run: `npm --prefix frontend run e2e` (after scripts/build-frontend.sh).
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { REPO, startServer } from "./harness.mjs";

const SCREENSHOT = join(REPO, "test-artifacts", "tasks-e2e.png");
const WAIT = { timeout: 60_000 };
const TITLE = "Haiku about honey bees";
// The board keeps its columns in this order; a card may skip some (the board polls once a
// second, and an echo-model task passes through queued and assigned in well under that).
const ORDER = ["queued", "assigned", "design", "build", "test", "review", "complete"];

// Any agent whose complexity range holds the task's takes a task that needs no capability;
// this one makes sure the project has one, whatever `orchestra init` ships.
const CLERK = `---
name: clerk
model: default
description: Takes small tasks that need no special capability.
complexity: [1, 10]
---
You do small tasks and answer in a few lines.
`;

let env;

async function api(method, path) {
  const response = await fetch(`${env.baseUrl}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${env.apiKey}` },
  });
  const body = await response.json();
  assert.ok(response.ok, `${method} ${path}: HTTP ${response.status} ${JSON.stringify(body)}`);
  return body;
}

before(async () => {
  env = await startServer({ name: "tasks-e2e", files: { "agents/clerk.agent.md": CLERK } });
  // Only the clerk may take the task, so the test knows who does (and when: see below).
  const workers = (await api("GET", "/workers")).items;
  assert.equal(workers.find((w) => w.name === "clerk")?.state, "idle", `no idle clerk: ${JSON.stringify(workers)}`);
  for (const worker of workers) if (worker.name !== "clerk") await api("POST", `/workers/${worker.name}/pause`);
});

after(async () => {
  await env?.stop();
});

test("create a task on the board and watch its card cross to complete", async () => {
  const context = await env.browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const consoleErrors = [];
  const failedRequests = [];
  page.on("response", (response) => {
    if (response.status() >= 400) failedRequests.push(`${response.status()} ${new URL(response.url()).pathname}`);
  });
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource"))
      consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));

  await page.goto(`${env.baseUrl}/`);
  await page.getByLabel("API key").fill(env.apiKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("whoami").filter({ hasText: "operator" }).waitFor(WAIT);

  // Pause the clerk from its agent page: the task will wait in Queued until it is resumed,
  // so the card is seen there before it moves, however fast the model is.
  await page.getByRole("link", { name: "Agents", exact: true }).click();
  await page.getByTestId("agent-row-clerk").getByRole("link", { name: "clerk", exact: true }).click();
  await page.getByRole("button", { name: "Pause" }).click();
  await page.locator('[data-testid="worker-state"][data-status="paused"]').waitFor(WAIT);

  await page.getByRole("link", { name: "Tasks", exact: true }).click();
  await page.getByText("No tasks yet.").waitFor(WAIT);

  // Every status the card shows, in order, recorded by the page itself as the DOM changes.
  await page.evaluate((title) => {
    window.__cardStatuses = [];
    const record = () => {
      const card = document.querySelector(`[data-testid="task-card"][data-task-title="${title}"]`);
      const status = card?.getAttribute("data-status");
      const seen = window.__cardStatuses;
      if (status && seen[seen.length - 1] !== status) seen.push(status);
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true });
  }, TITLE);

  await page.getByRole("button", { name: "New task" }).click();
  const form = page.getByRole("form", { name: "New task" });

  // The server's schema refuses an empty title; the form says so at the field.
  await form.getByRole("button", { name: "Create task" }).click();
  await form.getByTestId("task-title-error").filter({ hasText: "at least 1 character" }).waitFor(WAIT);
  assert.equal(await form.getByLabel("Title").getAttribute("aria-invalid"), "true");

  // No capabilities: any agent whose complexity range holds 3 could take it.
  await form.getByLabel("Title").fill(TITLE);
  await form.getByLabel("Description").fill("Write a three-line haiku about honey bees.");
  await form.getByLabel("Complexity").fill("3");
  await form.getByLabel("Priority").fill("7");
  await form.getByRole("button", { name: "Create task" }).click();
  await page.getByRole("status").filter({ hasText: `Created ${TITLE}` }).waitFor(WAIT);

  // Queued, with the dispatcher's reason on the card.
  const card = (status) =>
    page.locator(`[data-testid="column-${status}"] [data-testid="task-card"][data-task-title="${TITLE}"]`);
  const reason = card("queued").getByTestId("wait-reason");
  await reason.waitFor(WAIT);
  const why = await reason.textContent();
  assert.match(why, /paused/, "the queued card does not say why it waits");

  // Another operator resumes the clerk; the card crosses the board by itself.
  await api("POST", "/workers/clerk/resume");
  const done = card("complete");
  await done.waitFor(WAIT);
  const seen = await page.evaluate(() => window.__cardStatuses);
  assert.equal(seen[0], "queued", `the card was first seen in ${seen[0]}: ${seen}`);
  assert.equal(seen.at(-1), "complete", `the card ended in ${seen.at(-1)}: ${seen}`);
  const positions = seen.map((s) => ORDER.indexOf(s));
  assert.ok(positions.every((p) => p >= 0), `the card passed through a column off the happy path: ${seen}`);
  assert.deepEqual(positions, [...positions].sort((a, b) => a - b), `the card moved backwards: ${seen}`);
  assert.match(await done.textContent(), /agent clerk/);
  const agent = "clerk";

  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT });
  console.log(`screenshot: ${SCREENSHOT} (card: ${seen.join(" → ")}; waited because: ${why})`);

  // The task page: its fields, the updates timeline, the run it became.
  await done.getByRole("link", { name: TITLE }).click();
  await page.locator('[data-testid="task-status"][data-status="complete"]').waitFor(WAIT);
  const updates = page.getByRole("region", { name: "Updates" });
  await updates.getByText(`assigned to ${agent}`).waitFor(WAIT);
  assert.ok((await updates.getByTestId("task-update").count()) >= 3, "the timeline lacks the task's moves");
  assert.equal(await page.getByRole("button", { name: "Cancel task" }).count(), 0, "a complete task offers Cancel");
  // The task's workspace, made when the agent took it: its README checklist is there.
  const files = page.getByRole("region", { name: "Workspace files" });
  await files.getByText("README.md", { exact: true }).waitFor(WAIT);
  await page.getByTestId("task-run").click();
  await page.waitForURL(/#\/runs\/[^/]+$/, WAIT);
  await page.locator('[data-testid="run-status"][data-status="succeeded"]').waitFor(WAIT);
  // A task's one-step run has no workflow file: the run page draws its DAG from the run.
  await page.locator('[data-testid^="dag-node-"]').first().waitFor(WAIT);

  // The agent that took it: idle again, one session, 100 % success.
  await page.getByRole("link", { name: "Agents", exact: true }).click();
  const row = page.getByTestId(`agent-row-${agent}`);
  await row.getByText("100% (1/1)").waitFor(WAIT);
  await page.locator(`[data-testid="worker-state-${agent}"][data-status="idle"]`).waitFor(WAIT);
  await row.getByRole("link", { name: agent, exact: true }).click();
  await page.getByRole("region", { name: "Sessions" }).getByRole("cell", { name: "Complete" }).waitFor(WAIT);
  await page.getByRole("button", { name: "Pause" }).waitFor(WAIT);

  assert.deepEqual(consoleErrors, [], "the page logged errors");
  // Refused on purpose: the start-up probe before signing in, the task without a title, and
  // the run page asking for the task run's workflow (none: it falls back to the run's steps).
  assert.deepEqual(
    failedRequests.map((r) => r.replace(/\/workflows\/task-[0-9a-f]+$/, "/workflows/task-…")),
    ["401 /api/v1/me", "422 /api/v1/tasks", "404 /api/v1/workflows/task-…"],
  );
  await context.close();
});
