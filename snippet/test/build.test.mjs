import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { gzipSync } from "node:zlib";
import { VERSION } from "../src/version.js";

const BUILD = join(import.meta.dirname, "../build.mjs");

function build(env = {}) {
  const out = mkdtempSync(join(tmpdir(), "pulse-snippet-"));
  const run = spawnSync(process.execPath, [BUILD], {
    env: { ...process.env, PULSE_SNIPPET_OUT: out, ...env },
    encoding: "utf8",
  });
  return { out, run };
}

test("the build writes one minified file within 8 KB gzipped and says how big it is", () => {
  const { out, run } = build();
  assert.equal(run.status, 0, run.stderr);
  const code = readFileSync(join(out, "pulse.js"));
  const gz = gzipSync(code, { level: 9 }).length;
  assert.ok(gz <= 8 * 1024, `${gz} bytes gzipped`);
  assert.match(run.stdout, new RegExp(`snippet ${VERSION}: [\\d.]+ KB minified, ${(gz / 1024).toFixed(2)} KB gzipped`));
  const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
  assert.deepEqual(
    [manifest.version, manifest.file, manifest.gzip_bytes, manifest.bytes],
    [VERSION, "pulse.js", gz, code.length],
  );
  assert.deepEqual(readFileSync(join(out, manifest.versioned_file)), code);
  assert.ok(!code.includes("import ") && !code.includes("require("), "bundled: no module loading");
});

test("the build fails over its budget", () => {
  const { run } = build({ PULSE_SNIPPET_BUDGET_BYTES: "1024" });
  assert.equal(run.status, 1);
  assert.match(run.stderr, /KB gzipped \(budget 1\.00 KB\): OVER BUDGET/);
});
