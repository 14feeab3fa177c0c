// End to end: the built web UI against a real `orchestra serve` on 127.0.0.1, driven by
// playwright-core in Debian's /usr/bin/chromium (headless; no browser download).
// A fresh `orchestra init` project runs on the scripted model (`scripted/echo`), offline.
// The test signs in with an operator key, starts research-brief from its workflow page,
// watches every DAG node turn green and the final output arrive in the terminal, replays
// the finished run, and saves test-artifacts/web-e2e.png.
//
// Run: `npm --prefix frontend run e2e` (after scripts/build-frontend.sh).
// E2E_UI=preview serves frontend/dist with `vite preview` (proxying /api to the real server)
// instead of the UI that `orchestra serve` ships: only for a server without the UI mount.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPO = resolve(FRONTEND, "..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOT = join(REPO, "test-artifacts", "web-e2e.png");
const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const WAIT = { timeout: 60_000 };

const children = [];
let workdir;
let browser;
let baseUrl;
let apiKey;

function orchestra(args, options = {}) {
  return execFileSync("uv", ["run", "--project", REPO, "orchestra", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    ...options,
  });
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function start(command, args, logName, env = {}) {
  const log = join(workdir, logName);
  const child = spawn(command, args, {
    cwd: workdir,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so the cleanup ends uv's child too
  });
  const chunks = [];
  child.stdout.on("data", (d) => chunks.push(d));
  child.stderr.on("data", (d) => chunks.push(d));
  child.on("exit", () => writeFileSync(log, Buffer.concat(chunks)));
  child.output = () => Buffer.concat(chunks).toString("utf8");
  children.push(child);
  return child;
}

async function waitForHttp(url, child, what) {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`${what} exited with ${child.exitCode}:\n${child.output()}`);
    }
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not answer ${url} within 90 s:\n${child.output()}`);
}

/** One step of a generated workflow on the project's Researcher agent. */
function stepText(id, inputs, output) {
  return [
    `## Step: ${id}`,
    "* **Agent:** [Researcher](../agents/researcher.agent.md)",
    `* **Input:** ${inputs.map((name) => "${" + name + "}").join(", ")}`,
    `* **Output:** \${${output}}`,
    "",
    `Note one thing about ${inputs.map((name) => "${" + name + "}").join(" and ")}.`,
    "",
  ].join("\n");
}

function header(name, description) {
  return `---\nname: ${name}\ndescription: ${description}\ninputs:\n  Topic: {required: true}\n---\n${description}\n\n`;
}

/** Three steps: one, then a parallel pair reading it. */
function threeStepWorkflow() {
  return (
    header("three-step", "One step, then two in parallel.") +
    stepText("gather", ["Topic"], "Facts") +
    stepText("summarise", ["Facts"], "Summary") +
    stepText("question", ["Facts"], "Questions")
  );
}

/** Thirty steps: three parallel chains of ten. */
function thirtyStepWorkflow() {
  let text = header("thirty-step", "Three parallel chains of ten steps.");
  for (let layer = 1; layer <= 10; layer++) {
    for (const chain of ["A", "B", "C"]) {
      const input = layer === 1 ? "Topic" : `Notes${chain}${layer - 1}`;
      text += stepText(`step-${chain.toLowerCase()}${layer}`, [input], `Notes${chain}${layer}`);
    }
  }
  return text;
}

before(async () => {
  assert.ok(
    existsSync(CHROMIUM),
    `${CHROMIUM} is missing: run frontend/e2e/install-chromium.sh (apt-get install chromium).`,
  );
  assert.ok(
    existsSync(join(REPO, "src/orchestra/web/index.html")),
    "The web UI is not built: run scripts/build-frontend.sh first.",
  );
  workdir = mkdtempSync(join(tmpdir(), "orchestra-web-e2e-"));
  const project = join(workdir, "project");
  orchestra(["init", project]);
  const toml = join(project, "orchestra.toml");
  const settings = readFileSync(toml, "utf8").replace(/^default = .*$/m, 'default = "scripted/echo"');
  assert.match(settings, /default = "scripted\/echo"/, "orchestra.toml has no models.default line");
  writeFileSync(toml, settings);
  writeFileSync(join(project, "workflows", "three-step.workflow.md"), threeStepWorkflow());
  writeFileSync(join(project, "workflows", "thirty-step.workflow.md"), thirtyStepWorkflow());
  apiKey = JSON.parse(
    orchestra(["keys", "create", "--name", "web-e2e", "--role", "operator", "--json", "-p", project]),
  ).key;

  const port = await freePort();
  const server = start(
    "uv",
    ["run", "--project", REPO, "orchestra", "serve", "-p", project, "--host", "127.0.0.1", "--port", String(port)],
    "serve.log",
  );
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, server, "orchestra serve");
  baseUrl = `http://127.0.0.1:${port}`;

  if (process.env.E2E_UI === "preview") {
    const previewPort = await freePort();
    const preview = start(
      join(FRONTEND, "node_modules/.bin/vite"),
      ["preview", "--config", join(FRONTEND, "vite.config.ts"), "--outDir", join(REPO, "src/orchestra/web"), "--host", "127.0.0.1", "--port", String(previewPort), "--strictPort"],
      "preview.log",
      { ORCHESTRA_URL: baseUrl },
    );
    await waitForHttp(`http://127.0.0.1:${previewPort}/`, preview, "vite preview");
    baseUrl = `http://127.0.0.1:${previewPort}`;
  } else {
    const page = await fetch(`${baseUrl}/`);
    const html = page.ok ? await page.text() : "";
    assert.ok(
      html.includes('id="root"'),
      `orchestra serve does not serve the web UI at / (HTTP ${page.status}); it should serve ` +
        "src/orchestra/web/index.html there (see docs/web-ui.md).",
    );
  }

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
});

after(async () => {
  await browser?.close();
  // SIGTERM, then wait for each process to exit (orchestra serve detaches its runs
  // first) before its log is written and the folder removed; SIGKILL after 15 s.
  const signal = (child, name) => {
    try {
      process.kill(-child.pid, name);
    } catch {
      // already gone
    }
  };
  await Promise.all(
    children
      .filter((child) => child.exitCode === null)
      .map(
        (child) =>
          new Promise((resolve) => {
            const timer = setTimeout(() => signal(child, "SIGKILL"), 15_000);
            child.on("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            signal(child, "SIGTERM");
          }),
      ),
  );
  if (workdir && !process.env.E2E_KEEP) rmSync(workdir, { recursive: true, force: true });
});

test("sign in, start research-brief, watch it finish live, replay it", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const consoleErrors = [];
  const failedRequests = [];
  page.on("response", (response) => {
    if (response.status() >= 400) failedRequests.push(`${response.status()} ${new URL(response.url()).pathname}`);
  });
  page.on("console", (message) => {
    // Failed requests are checked one by one below; the browser also logs each of them.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource"))
      consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));

  await page.goto(`${baseUrl}/`);
  await page.getByLabel("API key").fill(apiKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("whoami").filter({ hasText: "operator" }).waitFor(WAIT);

  await page.getByRole("link", { name: /research-brief/ }).click();
  await page.getByTestId("dag-node-brief").waitFor(WAIT);
  await page.getByLabel(/Topic/).fill("honey bees");
  await page.getByRole("button", { name: "Run" }).click();

  await page.waitForURL(/#\/runs\/[^/]+$/, WAIT);
  const runId = decodeURIComponent(new URL(page.url()).hash.split("/").pop());
  for (const step of ["history", "state-of-the-art", "open-questions", "brief"]) {
    await page.locator(`[data-testid="dag-node-${step}"][data-phase="succeeded"]`).waitFor(WAIT);
  }
  await page.locator('[data-testid="run-status"][data-status="succeeded"]').waitFor(WAIT);

  // The final output, in the terminal that xterm draws and in its accessible mirror.
  const finalText = "Merge these notes into a one-page brief on honey bees";
  try {
    await page.locator(".xterm-rows").filter({ hasText: "run succeeded" }).waitFor(WAIT);
  } catch (exc) {
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT.replace(".png", "-failed.png") });
    console.log(await page.getByRole("log", { name: "Run log" }).textContent());
    throw exc;
  }
  const mirror = await page.getByRole("log", { name: "Run log" }).textContent();
  assert.ok(mirror.includes(finalText), `the terminal log lacks the final output:\n${mirror}`);
  // Printed once: not again as the step's final message, its output and the run's output.
  assert.equal(mirror.split(finalText).length - 1, 1, `the final answer is repeated:\n${mirror}`);
  // The run's outputs, rendered on the page as well.
  await page.getByTestId("run-outputs").filter({ hasText: finalText }).waitFor(WAIT);
  assert.ok(mirror.includes("── step brief started"), "the terminal log lacks the step lifecycle");

  // The step panel shows what the last step produced.
  await page.getByTestId("dag-node-brief").click();
  await page.getByTestId("step-panel").filter({ hasText: finalText }).waitFor(WAIT);
  // ... and the terminal shows that step's lines only, until "Show all steps".
  const log = page.getByRole("log", { name: "Run log" });
  await log.filter({ hasText: "── step brief started" }).waitFor(WAIT);
  assert.ok(!(await log.textContent()).includes("[history]"), "the filtered terminal shows other steps");

  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT });
  console.log(`screenshot: ${SCREENSHOT}`);

  await page.getByRole("button", { name: "Show all steps" }).click();
  await log.filter({ hasText: "[history]" }).waitFor(WAIT);

  // Replay: the stored events redraw the same finished run from the start.
  const eventCount = await page.getByTestId("event-count").textContent();
  await page.getByRole("button", { name: "Replay" }).click();
  await page.getByRole("button", { name: "Replay" }).waitFor(WAIT); // "Replaying…" turns back
  await page.locator('[data-testid="run-status"][data-status="succeeded"]').waitFor(WAIT);
  assert.equal(await page.getByTestId("event-count").textContent(), eventCount);
  await page.locator(".xterm-rows").filter({ hasText: "run succeeded" }).waitFor(WAIT);

  // The run appears in the history, with its state.
  await page.getByRole("link", { name: "Runs", exact: true }).click();
  const row = page.getByRole("row").filter({ hasText: runId });
  await row.waitFor(WAIT);
  assert.match(await row.textContent(), /research-brief.*Succeeded/);

  // Agents list the project's agents with their models.
  await page.getByRole("link", { name: "Agents", exact: true }).click();
  await page.getByRole("cell", { name: "researcher", exact: false }).first().waitFor(WAIT);

  assert.deepEqual(consoleErrors, [], "the page logged errors");
  // The only refused request: the start-up probe for a stored key, before signing in.
  assert.deepEqual(failedRequests, ["401 /api/v1/me"]);
  await context.close();
});

const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
};

async function startRun(workflow) {
  const response = await fetch(`${baseUrl}/api/v1/runs`, {
    method: "POST",
    headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
    body: JSON.stringify({ workflow, inputs: { Topic: "honey bees" } }),
  });
  const text = await response.text();
  assert.equal(response.status, 201, text);
  return JSON.parse(text).id;
}

/** The height in screen pixels of a node's step name: its font size times the DAG's zoom. */
async function labelPixels(page) {
  return page.evaluate(() => {
    const label = document.querySelector('[data-testid="dag-node-label"]');
    const viewport = document.querySelector(".react-flow__viewport");
    const scale = new DOMMatrixReadOnly(getComputedStyle(viewport).transform).a;
    return { font: parseFloat(getComputedStyle(label).fontSize), scale };
  });
}

for (const [workflow, steps, first, pair] of [
  ["three-step", 3, "gather", ["summarise", "question"]],
  ["thirty-step", 30, "step-a1", ["step-a1", "step-b1"]],
]) {
  test(`the Run page of a ${steps}-step run reads at desktop and phone widths`, async () => {
    const runId = await startRun(workflow);
    for (const [name, viewport] of Object.entries(VIEWPORTS)) {
      const context = await browser.newContext({ viewport });
      await context.addInitScript((key) => sessionStorage.setItem("orchestra.apiKey", key), apiKey);
      const page = await context.newPage();
      const errors = [];
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(`${baseUrl}/#/runs/${encodeURIComponent(runId)}`);
      await page.locator('[data-testid="run-status"][data-status="succeeded"]').waitFor(WAIT);
      await page.getByTestId(`dag-node-${first}`).waitFor(WAIT);
      assert.equal(await page.locator('[data-testid^="dag-node-"][data-phase]').count(), steps);

      const { font, scale } = await labelPixels(page);
      assert.ok(font * scale >= 10, `${name}: node labels are ${font} px × zoom ${scale} = ${font * scale} px`);
      // Each node tells its attempt and how long it took (once the replayed events reach
      // the node: the run's status comes from its snapshot, a moment earlier).
      const meta = page.getByTestId(`dag-node-${first}-meta`);
      await meta.filter({ hasText: /attempt 1 · \d+(\.\d)? s/ }).waitFor(WAIT);
      assert.match(await meta.textContent(), /attempt 1 · \d+(\.\d)? s/);

      // Parallel steps sit one above the other (in either order) without overlapping.
      const [upper, lower] = await Promise.all(pair.map((id) => page.getByTestId(`dag-node-${id}`).boundingBox()));
      const apart = upper.y + upper.height <= lower.y || lower.y + lower.height <= upper.y;
      assert.ok(apart, `${name}: nodes ${pair.join(" and ")} overlap`);

      // Nothing overflows sideways; the graph and the terminal keep a usable size.
      const layout = await page.evaluate(() => {
        const size = (id) => document.querySelector(`[data-testid="${id}"]`).getBoundingClientRect();
        return {
          scrollWidth: document.documentElement.scrollWidth,
          dag: size("dag-pane").width,
          terminal: size("terminal-pane").width,
          terminalHeight: size("terminal-pane").height,
        };
      });
      assert.ok(layout.scrollWidth <= viewport.width, `${name}: page is ${layout.scrollWidth} px wide`);
      assert.ok(layout.dag >= Math.min(300, viewport.width - 40), `${name}: DAG is ${layout.dag} px wide`);
      assert.ok(layout.terminal >= Math.min(300, viewport.width - 40), `${name}: terminal is ${layout.terminal} px wide`);
      assert.ok(layout.terminalHeight >= 200, `${name}: terminal is ${layout.terminalHeight} px high`);

      if (name === "desktop" && steps > 6) {
        const mini = await page.evaluate(() => {
          const rects = [...document.querySelectorAll(".react-flow__minimap-node")];
          return { count: rects.length, first: rects[0] && [rects[0].getAttribute("width"), rects[0].style.fill] };
        });
        assert.equal(mini.count, steps, "the minimap draws every step");
      }
      if (name === "desktop") {
        // The workflow's Markdown, read-only, beside the DAG (GET /workflows/{name} `source`).
        await page.getByRole("button", { name: "Workflow source" }).click();
        await page.getByTestId("workflow-source").filter({ hasText: `## Step: ${first}` }).waitFor(WAIT);
      }

      const shot = join(REPO, "test-artifacts", `run-${steps}-steps-${name}.png`);
      mkdirSync(dirname(shot), { recursive: true });
      await page.screenshot({ path: shot });
      console.log(`screenshot: ${shot}`);
      assert.deepEqual(errors, [], "the page threw");
      await context.close();
    }
  });
}
