// What an end-to-end test needs: a fresh `orchestra init` project on the scripted model
// (offline), an operator key, a real `orchestra serve` on a free 127.0.0.1 port, and
// Debian's /usr/bin/chromium driven by playwright-core (no browser download). The same
// steps as web.e2e.mjs, as functions, for test files that want their own server.
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const REPO = resolve(FRONTEND, "..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function orchestra(args) {
  return execFileSync("uv", ["run", "--project", REPO, "orchestra", ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
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

async function waitForHttp(url, child, what) {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${child.output()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not answer ${url} within 90 s:\n${child.output()}`);
}

/**
 * Start a project and its server. `files` maps project-relative paths to contents written
 * after `orchestra init` (extra agents, say). Returns { baseUrl, apiKey, project, browser,
 * stop }; `stop()` ends the browser and the server (SIGTERM, SIGKILL after 15 s) and
 * removes the folder unless E2E_KEEP is set.
 */
export async function startServer({ name, files = {} }) {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run frontend/e2e/install-chromium.sh (apt-get install chromium).`);
  assert.ok(
    existsSync(join(REPO, "src/orchestra/web/index.html")),
    "The web UI is not built: run scripts/build-frontend.sh first.",
  );
  const workdir = mkdtempSync(join(tmpdir(), `orchestra-${name}-`));
  const project = join(workdir, "project");
  orchestra(["init", project]);
  const toml = join(project, "orchestra.toml");
  const settings = readFileSync(toml, "utf8").replace(/^default = .*$/m, 'default = "scripted/echo"');
  assert.match(settings, /default = "scripted\/echo"/, "orchestra.toml has no models.default line");
  writeFileSync(toml, settings);
  for (const [path, text] of Object.entries(files)) writeFileSync(join(project, path), text);
  const apiKey = JSON.parse(
    orchestra(["keys", "create", "--name", name, "--role", "operator", "--json", "-p", project]),
  ).key;

  const port = await freePort();
  const server = spawn(
    "uv",
    ["run", "--project", REPO, "orchestra", "serve", "-p", project, "--host", "127.0.0.1", "--port", String(port)],
    { cwd: workdir, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  const chunks = [];
  server.stdout.on("data", (d) => chunks.push(d));
  server.stderr.on("data", (d) => chunks.push(d));
  server.output = () => Buffer.concat(chunks).toString("utf8");
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${baseUrl}/healthz`, server, "orchestra serve");
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });

  const stop = async () => {
    await browser.close();
    if (server.exitCode === null) {
      await new Promise((resolveExit) => {
        const kill = (signal) => {
          try {
            process.kill(-server.pid, signal);
          } catch {
            // already gone
          }
        };
        const timer = setTimeout(() => kill("SIGKILL"), 15_000);
        server.on("exit", () => {
          clearTimeout(timer);
          resolveExit();
        });
        kill("SIGTERM");
      });
    }
    writeFileSync(join(workdir, "serve.log"), server.output());
    if (!process.env.E2E_KEEP) rmSync(workdir, { recursive: true, force: true });
    else console.log(`kept ${workdir}`);
  };
  return { baseUrl, apiKey, project, browser, server, stop };
}
