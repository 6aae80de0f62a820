// Builds the tracking snippet: src/index.js → dist/pulse.js (one minified file, no runtime
// dependencies) plus dist/pulse-<version>.js for the immutable URL, the minified install tag
// (dist/loader.min.js) and dist/manifest.json, which entry_service reads to serve them.
// Prints the gzipped size and fails over the 8 KB budget.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import { VERSION } from "./src/version.js";

export const BUDGET_GZIP_BYTES = 8 * 1024;
// Only the build's own test lowers it, to see the budget enforced.
const BUDGET = Number(process.env.PULSE_SNIPPET_BUDGET_BYTES) || BUDGET_GZIP_BYTES;
const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = process.env.PULSE_SNIPPET_OUT ?? join(HERE, "dist");
// Browsers from 2020-21 on (Safari 14.1 fixed destructuring bugs): fetch keepalive and modern
// syntax natively, so no transpiled helpers weigh on the budget.
export const TARGET = ["chrome80", "firefox78", "safari14.1", "edge80"];

export function buildLoader() {
  const source = readFileSync(join(HERE, "loader.js"), "utf8");
  return esbuild.transformSync(source, { minify: true, target: TARGET }).code.trim();
}

async function main() {
  const result = await esbuild.build({
    entryPoints: [join(HERE, "src/index.js")],
    bundle: true,
    minify: true,
    format: "iife",
    target: TARGET,
    legalComments: "none",
    write: false,
  });
  const code = result.outputFiles[0].contents;
  const gzipBytes = gzipSync(code, { level: 9 }).length;
  mkdirSync(DIST, { recursive: true });
  const file = "pulse.js";
  const versioned = `pulse-${VERSION}.js`;
  writeFileSync(join(DIST, file), code);
  writeFileSync(join(DIST, versioned), code);
  writeFileSync(join(DIST, "loader.min.js"), buildLoader() + "\n");
  const manifest = {
    version: VERSION,
    file,
    versioned_file: versioned,
    bytes: code.length,
    gzip_bytes: gzipBytes,
    // For <script integrity=…> on the versioned URL.
    integrity: `sha384-${createHash("sha384").update(code).digest("base64")}`,
  };
  // Written last and renamed into place: the server never reads a manifest ahead of its file.
  writeFileSync(join(DIST, "manifest.json.tmp"), JSON.stringify(manifest, null, 2) + "\n");
  renameSync(join(DIST, "manifest.json.tmp"), join(DIST, "manifest.json"));
  const kb = (n) => (n / 1024).toFixed(2);
  const line = `snippet ${VERSION}: ${kb(code.length)} KB minified, ${kb(gzipBytes)} KB gzipped (budget ${kb(BUDGET)} KB)`;
  if (gzipBytes > BUDGET) {
    console.error(`${line}: OVER BUDGET`);
    process.exit(1);
  }
  console.log(line);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
