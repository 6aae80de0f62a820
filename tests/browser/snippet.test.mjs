// The tracking snippet end to end: headless Chromium on the demo shop page that `pulse run
// --demo` serves, against a real Pulse on the embedded default. Each test counts what the store
// kept for its browser's anonymous id (core_service's user summary, deduplicated by event id)
// and what the browser posted, so "exactly once" means: every occurrence stored, none twice,
// and one event id per occurrence however often it was sent.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { admin, artifactPath, eventually, launchBrowser, ROOT, startPulse } from "./harness.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Parsed by entry_service as device type "other", which the demo's synthetic trickle never
// uses: the campaign metrics filtered on it count this browser's events only.
const TEST_AGENT = "PulseSnippetTest/1.0 (browser test)";
const FLUSH_MS = 3000; // the snippet's default flushInterval

describe("tracking snippet in Chromium", { timeout: 240_000 }, () => {
  let pulse;
  let browser;
  let site;
  let defs; // definition name -> id

  before(async () => {
    // The served file is built from today's sources, as scripts/bootstrap does.
    execFileSync(process.execPath, [join(ROOT, "snippet/build.mjs")], { stdio: "pipe" });
    pulse = await startPulse({ demo: true });
    browser = await launchBrowser();
    site = await eventually(
      async () => (await admin(pulse, "GET", "/v1/sites")).items.find((s) => s.demo),
      { what: "the demo site", timeoutMs: 30_000 },
    );
    await eventually(async () => (await fetch(`${pulse.entry}/demo/`)).status === 200, {
      what: "the demo page",
    });
    const listed = await admin(pulse, "GET", `/v1/event-definitions?site_id=${site.id}&limit=200`);
    defs = Object.fromEntries(listed.items.map((d) => [d.name, d.id]));
  });

  after(async () => {
    await browser?.close();
    await pulse?.stop();
  });

  /** A fresh browser profile on the demo shop, recording every event it posts. */
  async function shop(path, { userAgent } = {}) {
    const context = await browser.newContext(userAgent ? { userAgent } : {});
    const posted = [];
    context.on("request", (req) => {
      if (req.method() === "POST" && new URL(req.url()).pathname === "/v1/events") {
        posted.push(...JSON.parse(req.postData()).events);
      }
    });
    const page = await context.newPage();
    await page.goto(`${pulse.entry}${path}`);
    const anon = await page.evaluate(() => window.pulse("anonymousId"));
    return { context, page, posted, anon };
  }

  async function stored(anon) {
    const key = encodeURIComponent(`a:${anon}`);
    const res = await fetch(`${pulse.core}/v1/sites/${site.id}/users/${key}/summary`, {
      headers: { authorization: `Bearer ${pulse.adminToken}` },
    });
    if (res.status === 404) return 0;
    assert.equal(res.status, 200);
    return (await res.json()).event_count;
  }

  async function storedExactly(anon, n) {
    await eventually(async () => (await stored(anon)) === n, { what: `${n} stored events` });
  }

  /** Events the page's snippet still holds in localStorage (sent or not, unacknowledged). */
  const queued = (page) =>
    page.evaluate(() => {
      const key = Object.keys(localStorage).find((k) => k.startsWith("pulse_q_"));
      return key ? JSON.parse(localStorage.getItem(key)).length : 0;
    });

  // The barrier before asserting that nothing more arrives (instead of sleeping a while):
  // the page flushed and holds nothing unacknowledged, so it has nothing left to resend; then
  // a marker event posted after all that is stored, and the consumer reads one ordered log,
  // so everything sent before the marker has been handled.
  async function settled(page) {
    if (page && !page.isClosed()) {
      await page.evaluate(() => window.pulse("flush"));
      await eventually(async () => (await queued(page)) === 0, { what: "the queue emptied" });
    }
    const marker = `barrier-${crypto.randomUUID()}`;
    const res = await fetch(`${pulse.entry}/v1/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        site_key: site.site_key,
        events: [
          {
            event_id: crypto.randomUUID(),
            definition_id: defs["coupon: page viewed"],
            type: "page_view",
            occurred_at: new Date().toISOString(),
            anonymous_id: marker,
            url: `${pulse.entry}/demo/coupon`,
          },
        ],
      }),
    });
    assert.equal(res.status, 202, await res.text());
    await storedExactly(marker, 1);
  }

  const ids = (events) => new Set(events.map((e) => e.event_id));
  const byName = (name) => (e) => e.definition_id === defs[name];

  async function screenshotOnFailure(page, name, fn) {
    try {
      await fn();
    } catch (err) {
      if (!page.isClosed()) await page.screenshot({ path: artifactPath(`${name}.png`) });
      throw err;
    }
  }

  test("page views, clicks on buttons added later, SPA navigation and a purchase", { timeout: 60_000 }, async () => {
    const { context, page, posted, anon } = await shop("/demo/coupon", { userAgent: TEST_AGENT });
    await screenshotOnFailure(page, "snippet-spa", async () => {
      await page.click("#coupon-cta");
      // A button the page adds after the snippet started: delegation still sees it.
      await page.evaluate(() => {
        const late = document.createElement("button");
        late.id = "raffle-cta";
        late.textContent = "Added later";
        document.body.append(late);
      });
      await page.click("#raffle-cta");
      await page.click("a[href='/demo/flash-sale']"); // pushState
      await page.click("#flash-sale-cta");
      await page.evaluate(() => history.replaceState({}, "", location.href)); // same URL: no view
      await page.goBack(); // popstate back to /demo/coupon
      await page.waitForURL("**/demo/coupon");
      await page.click("button.buy");
      await page.click("a[href='/demo/']"); // no definition matches the home page

      const expected = [
        "coupon: page viewed",
        "coupon: button clicked",
        "raffle: button clicked",
        "flash-sale: page viewed",
        "flash-sale: button clicked",
        "coupon: page viewed",
        "coupon: purchase", // last touch in this session: the coupon page
      ];
      await storedExactly(anon, expected.length);
      await eventually(() => ids(posted).size === expected.length, { what: "every post seen" });
      const firstPosts = [...new Map(posted.map((e) => [e.event_id, e])).values()];
      assert.deepEqual(
        firstPosts.map((e) => Object.keys(defs).find((name) => defs[name] === e.definition_id)),
        expected,
      );
      const purchase = firstPosts.find(byName("coupon: purchase"));
      assert.equal(purchase.properties.currency, "EUR");
      assert.equal(purchase.properties.amount, 12);
      const views = firstPosts.filter((e) => e.type === "page_view");
      assert.deepEqual(
        views.map((e) => [new URL(e.url).pathname, e.properties.title]),
        [
          ["/demo/coupon", "First 100 get a coupon · Pulse demo shop"],
          ["/demo/flash-sale", "Limited flash sale · Pulse demo shop"],
          ["/demo/coupon", "First 100 get a coupon · Pulse demo shop"],
        ],
      );
      assert.equal(new Set(firstPosts.map((e) => e.session_id)).size, 1, "one session");

      // The campaign's metrics count them (device "other" = this browser only).
      const metrics = await eventually(async () => {
        const res = await fetch(
          `${pulse.dashboard}/v1/campaigns/${await campaignId()}/metrics?device_type=other`,
          { headers: { authorization: `Bearer ${pulse.dashboardToken}` } },
        );
        const body = await res.json();
        return body.totals.purchases === 1 ? body : null;
      }, { what: "the purchase in the metrics" });
      assert.deepEqual(
        [metrics.totals.visits, metrics.totals.clicks, metrics.totals.purchases, metrics.totals.revenue],
        [3, 3, 1, 12],
      );
      await settled(page);
      assert.equal(await stored(anon), expected.length, "nothing arrives twice later");
    });
    await context.close();
  });

  async function campaignId() {
    const campaigns = await admin(pulse, "GET", `/v1/campaigns?site_id=${site.id}`);
    return campaigns.items[0].id;
  }

  test("a click immediately followed by closing the page arrives, once", { timeout: 60_000 }, async () => {
    const { context, page, posted, anon } = await shop("/demo/raffle");
    await storedExactly(anon, 1); // the page view: the snippet is up and delivering
    await page.click("#raffle-cta");
    await page.close(); // no time for the 3 s batch timer: only the exit flush can save it
    await storedExactly(anon, 2);
    // (Playwright reports no requests of a page being closed, so `posted` has not seen it.)
    const clicks = () => posted.filter(byName("raffle: button clicked"));

    // The closed page never saw the answer, so its queue still holds the click: the next page
    // sends it again, with the same event id, and the store keeps it once (a new id would
    // make it three).
    const next = await context.newPage();
    await next.goto(`${pulse.entry}/demo/`);
    await eventually(() => clicks().length >= 1, { what: "the click resent by the next page" });
    assert.equal(ids(clicks()).size, 1, "one occurrence, one event id");
    await settled(next);
    assert.equal(await stored(anon), 2);
    await context.close();
  });

  test("offline: events wait, survive a reload, and arrive once back online", { timeout: 60_000 }, async () => {
    const { context, page, posted, anon } = await shop("/demo/coupon");
    await screenshotOnFailure(page, "snippet-offline", async () => {
      await storedExactly(anon, 1);

      await context.setOffline(true);
      await page.click("#coupon-cta");
      await page.click("#coupon-cta");
      await page.click("a[href='/demo/flash-sale']");
      await page.evaluate(() => window.pulse("flush")); // forced: offline, it must keep them
      await sleep(FLUSH_MS + 1000); // and the batch timer fires once too
      assert.equal(await queued(page), 3, "kept in localStorage while offline");
      await settled(null); // whatever did go out has been handled by now
      assert.equal(await stored(anon), 1, "nothing delivered while offline");
      await context.setOffline(false); // the `online` event: flush now, not after the backoff
      await storedExactly(anon, 4);
      await eventually(async () => (await queued(page)) === 0, { what: "the queue emptied" });

      await context.setOffline(true);
      await page.click("#flash-sale-cta");
      await page.close(); // the exit flush fails offline; the click stays in storage
      await context.setOffline(false);
      const next = await context.newPage();
      await next.goto(`${pulse.entry}/demo/`);
      await storedExactly(anon, 5);
      assert.equal(ids(posted).size, 5, "one event id per occurrence, however often sent");
      await settled(next);
      assert.equal(await stored(anon), 5);
    });
    await context.close();
  });

  test("with requireConsent nothing is stored or sent until consent; withdrawal wipes", { timeout: 60_000 }, async () => {
    // A shop page of our own on the demo origin (its path matches "coupon: page viewed").
    const loader = readFileSync(join(ROOT, "snippet/dist/loader.min.js"), "utf8");
    const html = `<!doctype html><title>Consent</title><button id="coupon-cta">Get it</button>
      <script>${loader.replace("__SRC__", "/snippet.js")}
      pulse("init", { siteKey: ${JSON.stringify(site.site_key)}, requireConsent: true });</script>`;
    const context = await browser.newContext();
    await context.route("**/demo/coupon/consent", (route) =>
      route.fulfill({ contentType: "text/html", body: html }),
    );
    let posts = 0;
    context.on("request", (req) => {
      if (req.method() === "POST" && req.url().endsWith("/v1/events")) posts++;
    });
    const page = await context.newPage();
    await page.goto(`${pulse.entry}/demo/coupon/consent`);
    const anon = await page.evaluate(() => window.pulse("anonymousId"));
    const pulseKeys = () =>
      page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("pulse")).sort());

    await page.click("#coupon-cta");
    await page.evaluate(() => window.pulse("flush")); // forced, and the batch timer too
    await sleep(FLUSH_MS + 1000);
    assert.equal(posts, 0, "nothing sent before consent");
    assert.deepEqual(await pulseKeys(), [], "nothing stored before consent");

    await page.evaluate(() => window.pulse("consent", true));
    await storedExactly(anon, 2); // the page view and the click, kept in memory until now
    assert.ok((await pulseKeys()).includes("pulse_aid"));
    assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem("pulse_aid"))), anon);

    await page.evaluate(() => window.pulse("consent", false));
    assert.deepEqual(await pulseKeys(), ["pulseConsent"], "only the refusal itself is kept");
    const before = posts;
    await page.click("#coupon-cta");
    await page.evaluate(() => window.pulse("flush"));
    await sleep(FLUSH_MS + 1000);
    assert.equal(posts, before, "nothing sent after withdrawal");
    await settled(null);
    assert.equal(await stored(anon), 2);
    await context.close();
  });
});
