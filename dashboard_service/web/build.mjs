// Builds the dashboard UI into dashboard_service/web/dist (git-ignored), which dashboard_service
// serves at `/` and `/assets/`. Run by `npm run build` (scripts/bootstrap runs it at install).
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "assets"), { recursive: true });
await build({
  // main.js imports styles.css: esbuild writes app.js and app.css side by side.
  entryPoints: { app: join(here, "src/main.js") },
  outdir: join(dist, "assets"),
  bundle: true,
  format: "esm",
  target: ["es2020"],
  minify: true,
  sourcemap: true,
  legalComments: "linked",
  logLevel: "warning",
});
copyFileSync(join(here, "index.html"), join(dist, "index.html"));
console.log(`dashboard UI built into ${dist}`);
