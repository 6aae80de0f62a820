// Money on the dashboard in headless Chromium against a real `pulse run`: money cards with trend
// arrows, the cohort triangle and the site overview show the API's numbers; screenshots go to
// test-artifacts/ (dashboard-money.png, dashboard-overview.png).
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { after, before, test } from "node:test";

import { formatters } from "../../dashboard_service/web/src/format.js";
import { admin, artifactPath, eventually, launchBrowser, startPulse } from "./harness.mjs";

const LOCALE = "en-US";
const fmt = formatters(LOCALE);
const ARROWS = { up: "▲", down: "▼", flat: "■" };

let pulse;
let browser;
let page;
const shop = {};

async function reader(path) {
  const res = await fetch(`${pulse.dashboard}${path}`, {
    headers: { authorization: `Bearer ${pulse.dashboardToken}` },
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
  return JSON.parse(body);
}

function buy(definition, visitor, amount, currency) {
  return {
    event_id: crypto.randomUUID(),
    definition_id: definition,
    type: "purchase",
    occurred_at: new Date().toISOString(),
    anonymous_id: visitor,
    properties: { order_id: crypto.randomUUID(), amount, currency },
  };
}

function view(definition, visitor) {
  return {
    event_id: crypto.randomUUID(),
    definition_id: definition,
    type: "page_view",
    occurred_at: new Date().toISOString(),
    anonymous_id: visitor,
  };
}

before(async () => {
  pulse = await startPulse();
  browser = await launchBrowser();
  const site = await admin(pulse, "POST", "/v1/sites", { name: "Money shop", allowed_origins: [] });
  await admin(pulse, "PUT", `/v1/sites/${site.id}/money`, { currency: "EUR", rates: { USD: "0.5" } });
  const now = Date.now();
  const campaigns = [];
  for (const name of ["Winter sale", "Newsletter push"]) {
    const campaign = await admin(pulse, "POST", "/v1/campaigns", {
      site_id: site.id,
      name,
      starts_at: new Date(now - 60 * 60_000).toISOString(),
    });
    const activity = await admin(pulse, "POST", `/v1/campaigns/${campaign.id}/activities`, {
      name: `${name} coupon`,
      type: "fcfs",
      capacity: 10,
    });
    const definitions = {};
    for (const [kind, trigger] of [
      ["view", { type: "page_view", url_pattern: `/${campaign.id}*` }],
      ["purchase", { type: "purchase" }],
    ]) {
      definitions[kind] = (
        await admin(pulse, "POST", "/v1/event-definitions", {
          site_id: site.id,
          campaign_id: campaign.id,
          activity_id: activity.id,
          name: `${name} ${kind}`,
          trigger,
        })
      ).id;
    }
    campaigns.push({ id: campaign.id, definitions });
  }
  const [main, other] = campaigns;
  const today = new Date().toISOString().slice(0, 10);
  await admin(pulse, "PUT", `/v1/campaigns/${main.id}/budget`, { amount: "500.00" });
  await admin(pulse, "PUT", `/v1/campaigns/${main.id}/spend/${today}`, { amount: "48.00" });
  await admin(pulse, "PUT", `/v1/campaigns/${other.id}/budget`, { amount: "100.00" });
  // The browser tracks the views; the shop's server reports the orders (trusted revenue).
  const post = (path, events, headers = {}) =>
    fetch(`${pulse.entry}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ site_key: site.site_key, events }),
    });
  const views = await post("/v1/events", [
    view(main.definitions.view, "m1"),
    view(main.definitions.view, "m2"),
    view(main.definitions.view, "m3"),
    view(other.definitions.view, "o1"),
  ]);
  assert.equal(views.status, 202, await views.text());
  const res = await post(
    "/v1/server/events",
    [
      buy(main.definitions.purchase, "m1", 60, "EUR"),
      buy(main.definitions.purchase, "m2", 40, "USD"), // 20 EUR at the site's rate
      buy(main.definitions.purchase, "m3", 1000, "JPY"), // no rate: shown apart
      buy(other.definitions.purchase, "o1", 5, "EUR"),
    ],
    { authorization: `Bearer ${site.signing_secret}` },
  );
  assert.equal(res.status, 202, await res.text());
  Object.assign(shop, { siteId: site.id, main: main.id, other: other.id });
  await eventually(async () => (await reader(`/v1/campaigns/${main.id}/metrics`)).money.orders === 2, {
    what: "the purchases in the API",
  });
});

after(async () => {
  await browser?.close();
  const code = await pulse?.stop();
  assert.equal(code, 0, pulse?.log());
});

test("the campaign page shows money cards with trend arrows and the cohort triangle", async () => {
  const context = await browser.newContext({ locale: LOCALE, viewport: { width: 1280, height: 2300 } });
  page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  await page.goto(`${pulse.dashboard}/`);
  await page.fill("#token", pulse.dashboardToken);
  await page.click("button[type=submit]");
  await page.locator(`a[href="#/campaigns/${shop.main}"]`).click();
  await page.locator("[data-testid=live-status][data-state=live]").waitFor();
  const api = await reader(`/v1/campaigns/${shop.main}/metrics`);

  // The seeded money, so a page and an API that both showed nothing would fail.
  assert.deepEqual(
    [api.money.currency, api.money.gmv, api.money.orders, api.money.unconverted[0].currency],
    ["EUR", "80.00", 2, "JPY"],
  );
  const cards = {
    gmv: fmt.money(api.money.gmv),
    orders: fmt.count(api.money.orders),
    aov: fmt.money(api.money.aov),
    spend: fmt.money(api.money.spend),
    roas: fmt.ratio(api.money.roas),
    cac: fmt.money(api.money.cac),
    cost_per_entry: fmt.money(api.money.cost_per_entry),
    new_customers: fmt.count(api.money.new_customers),
  };
  for (const [name, expected] of Object.entries(cards)) {
    assert.equal(await page.locator(`[data-metric="money.${name}"]`).innerText(), expected, name);
  }
  assert.equal(await page.locator("[data-testid=money-currency]").innerText(), "EUR");
  assert.match(await page.locator("[data-testid=money-unconverted]").innerText(), /JPY/);

  // Every trend arrow follows the API's direction; the previous hour had nothing, so GMV is up.
  assert.equal(api.trends.gmv.direction, "up");
  for (const [name, trend] of Object.entries(api.trends)) {
    const badge = page.locator(`[data-trend="${name}"]`);
    if ((await badge.count()) === 0) continue;
    const shown = await badge.first().innerText();
    if (trend.direction) assert.ok(shown.startsWith(ARROWS[trend.direction]), `${name}: ${shown}`);
    else assert.equal(shown, "—", name);
    // Green when the KPI moved the good way (a fall, for spend, CAC and cost per entry).
    const tone =
      !trend.direction || trend.direction === "flat"
        ? "neutral"
        : (trend.direction === "up") === trend.higher_is_better
          ? "good"
          : "bad";
    assert.equal(await badge.first().getAttribute("data-tone"), tone, `${name} tone`);
  }
  assert.equal(await page.locator('[data-trend="gmv"]').getAttribute("data-tone"), "good");

  const cohorts = await reader(`/v1/campaigns/${shop.main}/cohorts?weeks=8`);
  assert.equal(cohorts.rows.length, 1);
  const row = page.locator(`[data-testid=cohort-table] tr[data-week="${cohorts.rows[0].week_start}"]`);
  await row.waitFor();
  assert.equal(await row.locator("[data-metric=customers]").innerText(), fmt.count(cohorts.rows[0].customers));
  const week0 = cohorts.rows[0].cumulative_revenue_per_customer[0];
  assert.equal(await row.locator('[data-week="0"]').innerText(), fmt.money(week0));

  const shot = artifactPath("dashboard-money.png");
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(statSync(shot).size > 20_000, "the screenshot has content");
  assert.deepEqual(errors, []);
});

test("the site overview ranks campaigns and sets budget against GMV", async () => {
  await page.locator("[data-testid=overview-link]").click();
  await page.locator("[data-testid=overview-table]").waitFor();
  const api = await reader(`/v1/sites/${shop.siteId}/overview`);
  assert.deepEqual(api.top_by_gmv, [shop.main, shop.other]);
  for (const c of api.campaigns) {
    const row = `[data-testid=overview-table] tr[data-campaign-id="${c.campaign_id}"]`;
    assert.equal(await page.locator(`${row} [data-metric=gmv]`).innerText(), fmt.money(c.gmv));
    assert.equal(await page.locator(`${row} [data-metric=visits]`).innerText(), fmt.count(c.visits));
    assert.equal(await page.locator(`${row} [data-metric=budget]`).innerText(), fmt.money(c.budget));
  }
  const top = await page.locator("[data-testid=top-gmv] li").evaluateAll((els) => els.map((e) => e.dataset.campaignId));
  assert.deepEqual(top, api.top_by_gmv);
  assert.equal(await page.locator('[data-metric="overview.gmv"]').innerText(), fmt.money(api.gmv));
  assert.equal(await page.locator("[data-testid=budget-vs-gmv] .bars").count(), api.campaigns.length);
  const shot = artifactPath("dashboard-overview.png");
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(statSync(shot).size > 20_000, "the screenshot has content");
});

test("both pages mark unique visitors as estimates when the API says they are", async () => {
  // The embedded default counts visitors exactly; the full stack's rollups estimate them and say
  // so in `approximations`. The real answers, with the field the full stack adds.
  const bound = { approximate: true, relative_error: 0.0163 };
  const context = await browser.newContext({ locale: LOCALE, viewport: { width: 1280, height: 1800 } });
  const estimated = await context.newPage();
  const errors = [];
  estimated.on("pageerror", (err) => errors.push(err.message));
  const addBound = (field) => async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    body.approximations = { ...body.approximations, [field]: bound };
    await route.fulfill({ response, json: body });
  };
  // The live view arrives over server-sent events: one event made of the same view's answer.
  await estimated.route("**/v1/campaigns/*/stream*", async (route) => {
    const url = route.request().url().replace("/stream?", "/metrics?");
    const body = await (await route.fetch({ url })).json();
    body.approximations = { ...body.approximations, "totals.unique_visitors": bound };
    await route.fulfill({
      contentType: "text/event-stream",
      body: `retry: 60000\nevent: metrics\ndata: ${JSON.stringify(body)}\n\n`,
    });
  });
  await estimated.route("**/v1/sites/*/overview*", addBound("campaigns.unique_visitors"));
  await estimated.goto(`${pulse.dashboard}/`);
  await estimated.fill("#token", pulse.dashboardToken);
  await estimated.click("button[type=submit]");
  await estimated.locator(`a[href="#/campaigns/${shop.main}"]`).click();
  const note = estimated.locator("[data-testid=approximate-note]");
  await note.waitFor();
  assert.match(await note.innerText(), /estimates within ±1\.6 %/);
  const api = await reader(`/v1/campaigns/${shop.main}/metrics`);
  assert.equal(api.totals.unique_visitors, 3);
  assert.equal(
    await estimated.locator('[data-metric="totals.unique_visitors"]').innerText(),
    `≈ ${fmt.count(api.totals.unique_visitors)}`,
  );

  await estimated.locator("[data-testid=overview-link]").click();
  const overviewNote = estimated.locator("[data-testid=overview-approximate-note]");
  await overviewNote.waitFor();
  assert.match(await overviewNote.innerText(), /estimates within ±1\.6 %/);
  const overview = await reader(`/v1/sites/${shop.siteId}/overview`);
  for (const c of overview.campaigns) {
    const cell = `[data-testid=overview-table] tr[data-campaign-id="${c.campaign_id}"] [data-metric=unique_visitors]`;
    assert.equal(await estimated.locator(cell).innerText(), `≈ ${fmt.count(c.unique_visitors)}`);
  }
  assert.deepEqual(errors, []);
  await context.close();
});
