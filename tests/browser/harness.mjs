// Shared by the browser tests: a real `pulse run` on free loopback ports (embedded default,
// fresh data dir) and Debian's Chromium driven by playwright-core. Everything stops by itself.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const ARTIFACTS = join(ROOT, "test-artifacts");
const PULSE = process.env.PULSE_BIN ?? join(ROOT, ".venv/bin/pulse");
const CHROMIUM = process.env.PULSE_CHROMIUM ?? "/usr/bin/chromium";

// Without the background-networking flags Chromium keeps dialling Google on a closed network.
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

// Distinct free ports: every listener stays open until all ports are known, or the kernel
// may hand the same port out twice (then two services race for it and one exits).
export async function freePorts(n) {
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise((ok, fail) => {
        const srv = createServer();
        srv.unref();
        srv.on("error", fail);
        srv.listen(0, "127.0.0.1", () => ok(srv));
      }),
    ),
  );
  const ports = servers.map((srv) => srv.address().port);
  await Promise.all(servers.map((srv) => new Promise((ok) => srv.close(ok))));
  return ports;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitReady(url, child, logPath, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`pulse exited early:\n${readFileSync(logPath, "utf8")}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`${url} never became ready:\n${readFileSync(logPath, "utf8")}`);
    }
    await sleep(100);
  }
}

/**
 * Start `pulse run` (optionally `--demo`) with its own data dir and free ports.
 * Returns {core, entry, dashboard, adminToken, dashboardToken, dataDir, log, stop()}.
 */
export async function startPulse({ demo = false, env = {}, args = [] } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "pulse-browser-"));
  const [core, entry, dashboard] = await freePorts(3);
  const ports = { core, entry, dashboard };
  const adminToken = `adm_browser_${Math.random().toString(36).slice(2)}`;
  const dashboardToken = `dash_browser_${Math.random().toString(36).slice(2)}`;
  const cleanEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("PULSE_")),
  );
  const logPath = join(dataDir, "pulse.log");
  const out = openSync(logPath, "w");
  const argv = ["--data-dir", dataDir, "run"];
  for (const [name, port] of Object.entries(ports)) argv.push(`--${name}-port`, String(port));
  if (demo) argv.push("--demo");
  argv.push(...args);
  const child = spawn(PULSE, argv, {
    env: {
      ...cleanEnv,
      PULSE_ADMIN_TOKEN: adminToken,
      PULSE_DASHBOARD_TOKEN: dashboardToken,
      ...env,
    },
    stdio: ["ignore", out, out],
  });
  // A failed test must not leave a server behind that keeps the test runner alive.
  const reap = () => child.kill("SIGKILL");
  process.once("exit", reap);
  child.once("exit", () => process.removeListener("exit", reap));
  const urls = Object.fromEntries(
    Object.entries(ports).map(([n, p]) => [n, `http://127.0.0.1:${p}`]),
  );
  try {
    for (const url of Object.values(urls)) await waitReady(url, child, logPath);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return {
    ...urls,
    ports,
    adminToken,
    dashboardToken,
    dataDir,
    log: () => readFileSync(logPath, "utf8"),
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const done = new Promise((r) => child.once("exit", (code) => r(code)));
      child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      const code = await done;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Admin API call against core_service; throws with the body on a non-2xx answer. */
export async function admin(pulse, method, path, body) {
  const res = await fetch(`${pulse.core}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${pulse.adminToken}`,
      "content-type": "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Poll `probe()` until it returns a truthy value or the time is up. */
export async function eventually(probe, { timeoutMs = 15_000, intervalMs = 200, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await sleep(intervalMs);
  }
}

/** A headless Chromium; playwright gives it a fresh temporary profile. Close it in `after()`. */
export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export function artifactPath(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
