// The dashboard UI in headless Chromium against a real `pulse run`: a seeded campaign's page shows
// the API's numbers, a new event updates it live (no reload), and a screenshot is kept in
// test-artifacts/. Run: node --test --test-concurrency=1 tests/browser/dashboard*.test.mjs
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { after, before, test } from "node:test";

import { formatters } from "../../dashboard_service/web/src/format.js";
import { admin, artifactPath, eventually, launchBrowser, startPulse } from "./harness.mjs";

const LOCALE = "en-US"; // the page formats numbers in the browser's language: pin both sides
const fmt = formatters(LOCALE);
const UA = {
  phone:
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  desktop:
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
  tablet:
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  bot: "Googlebot/2.1 (+http://www.google.com/bot.html)",
};

let pulse;
let browser;
let shop;
let page;

async function seedShop() {
  const site = await admin(pulse, "POST", "/v1/sites", { name: "Browser shop", allowed_origins: [] });
  const campaign = await admin(pulse, "POST", "/v1/campaigns", {
    site_id: site.id,
    name: "Browser launch",
    starts_at: new Date(Date.now() - 30 * 60_000).toISOString(),
  });
  const definitions = {};
  const activities = {};
  for (const [slug, type, capacity] of [
    ["coupon", "fcfs", 3],
    ["raffle", "raffle", null],
  ]) {
    const activity = await admin(pulse, "POST", `/v1/campaigns/${campaign.id}/activities`, {
      name: `${slug} activity`,
      type,
      capacity,
    });
    activities[slug] = activity.id;
    for (const [kind, trigger] of [
      ["view", { type: "page_view", url_pattern: `/${slug}*` }],
      ["click", { type: "click", selector: `#${slug}` }],
      ["purchase", { type: "purchase" }],
    ]) {
      const definition = await admin(pulse, "POST", "/v1/event-definitions", {
        site_id: site.id,
        campaign_id: campaign.id,
        activity_id: activity.id,
        name: `${slug} ${kind}`,
        trigger,
      });
      definitions[`${slug} ${kind}`] = definition.id;
    }
  }
  return { siteKey: site.site_key, campaignId: campaign.id, activities, definitions };
}

function event(definition, visitor, ua, extra = {}) {
  const [, kind] = definition.split(" ");
  const type = { view: "page_view", click: "click", purchase: "purchase" }[kind];
  return {
    event_id: crypto.randomUUID(),
    definition_id: shop.definitions[definition],
    type,
    occurred_at: new Date().toISOString(),
    anonymous_id: visitor,
    user_agent: ua,
    ...extra,
  };
}

async function postEvents(events) {
  const res = await fetch(`${pulse.entry}/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ site_key: shop.siteKey, events }),
  });
  assert.equal(res.status, 202, await res.text());
}

async function apiMetrics() {
  const res = await fetch(`${pulse.dashboard}/v1/campaigns/${shop.campaignId}/metrics`, {
    headers: { authorization: `Bearer ${pulse.dashboardToken}` },
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  return JSON.parse(body);
}

const text = (selector) => page.locator(selector).first().innerText();

before(async () => {
  pulse = await startPulse();
  browser = await launchBrowser();
  shop = await seedShop();
  const buy = { properties: { order_id: "o-1", amount: 19.99, currency: "EUR" } };
  await postEvents([
    event("coupon view", "v1", UA.phone),
    event("coupon click", "v1", UA.phone),
    event("coupon purchase", "v1", UA.phone, buy),
    event("coupon view", "v2", UA.desktop),
    event("raffle view", "v2", UA.desktop),
    event("raffle view", "v3", UA.tablet),
    event("raffle click", "v3", UA.tablet),
    event("coupon view", "v4", UA.bot),
  ]);
  await eventually(async () => (await apiMetrics()).totals.visits === 5, { what: "5 visits in the API" });
});

after(async () => {
  await browser?.close();
  const code = await pulse?.stop();
  assert.equal(code, 0, pulse?.log());
});

test("signing in with the dashboard token opens the campaign list", async () => {
  const context = await browser.newContext({ locale: LOCALE, viewport: { width: 1280, height: 1900 } });
  page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await page.goto(`${pulse.dashboard}/`);

  await page.fill("#token", "not-the-token");
  await page.click("button[type=submit]");
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").innerText(), /not valid/);

  await page.fill("#token", pulse.dashboardToken);
  await page.click("button[type=submit]");
  const row = page.locator(`[data-testid=campaign-list] tr[data-campaign-id="${shop.campaignId}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /Browser launch/);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === "pulse_dashboard_session");
  assert.ok(session?.httpOnly, "the session cookie is HttpOnly");
  assert.equal(session.sameSite, "Strict");
  assert.ok(!cookies.some((c) => c.value.includes(pulse.dashboardToken)), "the token is not stored");
  assert.deepEqual(errors, []);
});

test("the campaign page shows the same numbers as the API", async () => {
  await page.locator(`a[href="#/campaigns/${shop.campaignId}"]`).click();
  await page.locator("[data-testid=live-status][data-state=live]").waitFor();
  const api = await apiMetrics();

  const kpis = {
    visits: fmt.count(api.totals.visits),
    unique_visitors: fmt.count(api.totals.unique_visitors),
    clicks: fmt.count(api.totals.clicks),
    click_rate: fmt.rate(api.totals.click_rate),
    purchases: fmt.count(api.totals.purchases),
    conversion_rate: fmt.rate(api.totals.conversion_rate),
    entries: fmt.count(api.totals.entries),
    filled: fmt.fill([api.totals.confirmed_entries, api.totals.capacity]),
    fill_rate: fmt.rate(api.totals.fill_rate),
    time_to_sell_out: fmt.duration(api.totals.time_to_sell_out_seconds),
  };
  for (const [name, expected] of Object.entries(kpis)) {
    assert.equal(await text(`[data-metric="totals.${name}"]`), expected, `KPI ${name}`);
  }
  // Sanity: the seeded traffic, so a page and an API that both showed nothing would fail.
  assert.deepEqual([api.totals.visits, api.totals.clicks, api.totals.purchases], [5, 2, 1]);
  assert.equal(await text("[data-testid=campaign-name]"), "Browser launch");

  assert.equal(api.activities.length, 2);
  for (const a of api.activities) {
    const row = `[data-testid=activity-rows] tr[data-activity-id="${a.activity_id}"]`;
    const cells = {
      visits: fmt.count(a.visits),
      unique_visitors: fmt.count(a.unique_visitors),
      clicks: fmt.count(a.clicks),
      click_rate: fmt.rate(a.click_rate),
      purchases: fmt.count(a.purchases),
      gmv: fmt.money(a.gmv),
      conversion_rate: fmt.rate(a.conversion_rate),
      entries: fmt.count(a.entries),
      filled: fmt.fill([a.confirmed_entries, a.capacity]),
      fill_rate: fmt.rate(a.fill_rate),
      time_to_sell_out: fmt.duration(a.time_to_sell_out_seconds),
    };
    for (const [name, expected] of Object.entries(cells)) {
      assert.equal(await text(`${row} [data-metric="${name}"]`), expected, `${a.name} ${name}`);
    }
  }
  for (const d of api.devices) {
    const row = `[data-testid=device-table] tr[data-device="${d.device_type}"]`;
    assert.equal(await text(`${row} [data-metric=unique_visitors]`), fmt.count(d.unique_visitors));
    assert.equal(await text(`${row} [data-metric=events]`), fmt.count(d.events));
  }
  for (const s of api.funnel) {
    const cell = `[data-testid=funnel-table] tr[data-stage="${s.stage}"] [data-metric=visitors]`;
    assert.equal(await text(cell), fmt.count(s.visitors), `funnel ${s.stage}`);
  }
  const split = api.new_vs_returning;
  assert.equal(await text('[data-metric="new_vs_returning.new"]'), fmt.count(split.new.visitors));
  assert.equal(
    await text('[data-metric="new_vs_returning.returning"]'),
    fmt.count(split.returning.visitors),
  );
  for (const chart of ["funnel-chart", "device-chart", "new-vs-returning-chart", "timeline-chart"]) {
    const box = await page.locator(`[data-testid=${chart}]`).boundingBox();
    assert.ok(box && box.width > 100 && box.height > 100, `${chart} is drawn`);
  }

  const shot = artifactPath("dashboard-campaign.png");
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(statSync(shot).size > 20_000, "the screenshot has content");
});

test("a new event updates the page live, without a reload", async (t) => {
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  const before = await apiMetrics();
  const posted = Date.now();
  await postEvents([event("raffle view", "v5", UA.phone), event("raffle click", "v5", UA.phone)]);

  const inApi = eventually(async () => (await apiMetrics()).totals.visits === before.totals.visits + 1, {
    intervalMs: 50,
    what: "the event in the API",
  }).then(() => Date.now());
  await eventually(
    async () => (await text('[data-metric="totals.visits"]')) === fmt.count(before.totals.visits + 1),
    { intervalMs: 50, what: "the page to show the new visit" },
  );
  const onPage = Date.now();
  const stored = await inApi;
  t.diagnostic(`posted -> stored ${stored - posted} ms; posted -> on the page ${onPage - posted} ms`);

  assert.equal(await page.evaluate(() => window.__sameDocument), true, "no reload");
  await eventually(
    async () => (await text('[data-metric="totals.clicks"]')) === fmt.count(before.totals.clicks + 1),
    { what: "the click too" },
  );
  const raffle = `[data-testid=activity-rows] tr[data-activity-id="${shop.activities.raffle}"]`;
  const after = await apiMetrics();
  const row = after.activities.find((a) => a.activity_id === shop.activities.raffle);
  assert.equal(await text(`${raffle} [data-metric=visits]`), fmt.count(row.visits));
  assert.match(await text("[data-testid=live-status]"), /^Live/);
});

test("a filter narrows the view and keeps it live", async () => {
  await page.selectOption("#filter-device_type", "tablet");
  await page.waitForURL(/device_type=tablet/);
  await page.locator("[data-testid=live-status][data-state=live]").waitFor();
  const res = await fetch(
    `${pulse.dashboard}/v1/campaigns/${shop.campaignId}/metrics?device_type=tablet`,
    { headers: { authorization: `Bearer ${pulse.dashboardToken}` } },
  );
  const tablet = await res.json();
  assert.equal(tablet.totals.visits, 1);
  await eventually(async () => (await text('[data-metric="totals.visits"]')) === fmt.count(1), {
    what: "tablet-only visits",
  });
  assert.equal(await text('[data-metric="totals.clicks"]'), fmt.count(tablet.totals.clicks));
});

test("signing out ends the session", async () => {
  await page.click("#sign-out");
  await page.locator("#token").waitFor();
  await page.reload();
  await page.locator("#token").waitFor();
  const cookies = await page.context().cookies();
  assert.ok(!cookies.some((c) => c.name === "pulse_dashboard_session"));
});
