// `pulse run --demo` opens a dashboard with live data: the banner names the UI, the demo campaign's
// page fills in after sign-in and its numbers grow while the demo posts events, with no reload.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { artifactPath, eventually, launchBrowser, startPulse } from "./harness.mjs";

let pulse;
let browser;

before(async () => {
  pulse = await startPulse({ demo: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  const code = await pulse?.stop();
  assert.equal(code, 0, pulse?.log());
});

test("the demo's dashboard shows live data", async (t) => {
  assert.match(pulse.log(), new RegExp(`dashboard UI\\s+${pulse.dashboard}/`));
  const link = await eventually(
    () => pulse.log().match(/^\s+dashboard (http:\S+#\/campaigns\/[0-9a-f-]{36}) \(live\)$/m)?.[1],
    { what: "the demo campaign's dashboard link in the output" },
  );
  assert.ok(link.startsWith(pulse.dashboard));

  const page = await browser.newPage({ locale: "en-US", viewport: { width: 1280, height: 1700 } });
  await page.goto(link);
  await page.fill("#token", pulse.dashboardToken);
  await page.click("button[type=submit]");
  await page.locator("[data-testid=live-status][data-state=live]").waitFor();
  assert.equal(await page.locator("[data-testid=campaign-name]").innerText(), "Winter launch");
  assert.equal(await page.locator("[data-testid=activity-rows] tr").count(), 3);

  const visits = async () =>
    Number((await page.locator('[data-metric="totals.visits"]').innerText()).replace(/\D/g, ""));
  const first = await eventually(async () => (await visits()) || null, { what: "demo visits" });
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  const grown = await eventually(async () => ((await visits()) > first ? visits() : null), {
    timeoutMs: 20_000,
    what: "visits to grow while the demo posts events",
  });
  t.diagnostic(`visits ${first} -> ${grown} without a reload`);
  assert.equal(await page.evaluate(() => window.__sameDocument), true);
  await page.screenshot({ path: artifactPath("dashboard-demo.png"), fullPage: true });
});
