// The winners page in headless Chromium against a real `pulse run`: an activity of capacity 3
// entered by 5 shoppers shows its 3 winners, the 2 refused with their reason, a user search,
// and the CSV download; screenshot in test-artifacts/dashboard-winners.png.
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { after, before, test } from "node:test";

import { admin, artifactPath, eventually, launchBrowser, startPulse } from "./harness.mjs";

let pulse;
let browser;
const shop = {};

async function reader(path) {
  const res = await fetch(`${pulse.dashboard}${path}`, {
    headers: { authorization: `Bearer ${pulse.dashboardToken}` },
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  return path.endsWith(".csv") || path.includes(".csv?") ? body : JSON.parse(body);
}

before(async () => {
  pulse = await startPulse();
  browser = await launchBrowser();
  const site = await admin(pulse, "POST", "/v1/sites", { name: "Sneaker shop", allowed_origins: [], demo: true });
  const campaign = await admin(pulse, "POST", "/v1/campaigns", { site_id: site.id, name: "Launch day" });
  const activity = await admin(pulse, "POST", `/v1/campaigns/${campaign.id}/activities`, {
    name: "First 3 get the sneaker",
    type: "fcfs",
    capacity: 3,
  });
  // One after the other, so the positions follow the shoppers' order.
  for (const user of ["ana", "ben", "cleo", "dan", "eve"]) {
    const res = await fetch(`${pulse.entry}/v1/activities/${activity.id}/entries`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": crypto.randomUUID() },
      body: JSON.stringify({ user_id: user }),
    });
    assert.equal(res.status, 202, await res.text());
  }
  Object.assign(shop, { campaign: campaign.id, activity: activity.id });
  await eventually(
    async () => (await reader(`/v1/activities/${activity.id}/entries?limit=10`)).items.length === 5,
    { what: "five decided entries" },
  );
});

after(async () => {
  await browser?.close();
  const code = await pulse?.stop();
  assert.equal(code, 0, pulse?.log());
});

test("the winners page lists winners, refusals with reasons, a user search and the CSV", async () => {
  const context = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await page.goto(`${pulse.dashboard}/`);
  await page.fill("#token", pulse.dashboardToken);
  await page.click("button[type=submit]");
  await page.locator(`a[href="#/campaigns/${shop.campaign}"]`).click();
  await page.locator(`a[href="#/activities/${shop.activity}/winners"]`).click();

  // Winners first (status=confirmed by default), in the order they won.
  const table = page.locator("[data-testid=winners-table]");
  await table.waitFor();
  const cells = (field) => table.locator(`[data-field=${field}]`).allInnerTexts();
  const api = await reader(`/v1/activities/${shop.activity}/entries?status=confirmed`);
  assert.deepEqual(api.items.map((e) => e.user_id), ["ana", "ben", "cleo"]);
  assert.deepEqual(await cells("user_id"), ["ana", "ben", "cleo"]);
  assert.deepEqual(await cells("position"), ["1", "2", "3"]);
  assert.equal(await page.locator("h1").last().innerText(), "First 3 get the sneaker");
  const shot = artifactPath("dashboard-winners.png");
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(statSync(shot).size > 15_000, "the screenshot has content");

  await page.selectOption("[data-testid=winners-status]", "rejected");
  await page.locator("[data-testid=winners-table] tr[data-status=rejected]").first().waitFor();
  assert.deepEqual(await cells("user_id"), ["dan", "eve"]);
  assert.deepEqual(await cells("reason"), ["sold_out", "sold_out"]);

  await page.selectOption("[data-testid=winners-status]", "");
  await eventually(async () => (await cells("user_id")).length === 5, { what: "every status" });
  await page.fill("#winners-user", "cleo");
  await page.click("form.filters button[type=submit]");
  await eventually(async () => (await cells("user_id")).join() === "cleo", { what: "the search" });

  const href = await page.locator("[data-testid=winners-csv]").getAttribute("href");
  const csv = await page.evaluate(async (url) => (await fetch(url)).text(), href);
  const lines = csv.trim().split("\n");
  assert.equal(lines.length, 2, csv);
  assert.ok(lines[0].startsWith("entry_id,user_id,status"), lines[0]);
  assert.ok(lines[1].includes(",cleo,confirmed,"), lines[1]);
  assert.deepEqual(errors, []);
  await context.close();
});
