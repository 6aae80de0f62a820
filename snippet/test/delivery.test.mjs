import assert from "node:assert/strict";
import test from "node:test";
import { takeBatch } from "../src/batch.js";
import { createDelivery } from "../src/delivery.js";
import { createQueue } from "../src/queue.js";
import { createStore } from "../src/storage.js";
import { createTransport, KEEPALIVE_BUDGET } from "../src/transport.js";
import {
  FakeClock,
  FakeStorage,
  response,
  scriptedFetch,
  settle,
  silentLog,
} from "../test-support/fakes.mjs";

const OPTIONS = { flushAt: 5, flushInterval: 3000, maxBatchEvents: 100, maxBatchBytes: 60_000 };
const BACKOFF = { baseMs: 1000, capMs: 60_000 };
const event = (i, pad = 0) => ({
  event_id: `00000000-0000-7000-8000-${String(i).padStart(12, "0")}`,
  type: "click",
  occurred_at: "2026-11-23T10:00:00.000Z",
  anonymous_id: "anon",
  properties: pad ? { pad: "x".repeat(pad) } : {},
});

function rig({ fetch, online = () => true, options = OPTIONS, keepaliveSupported = true, beacon } = {}) {
  const clock = new FakeClock();
  const backing = new FakeStorage();
  const store = createStore({ backing, allowed: true, log: silentLog });
  const queue = createQueue({
    store,
    key: "q_pk",
    limits: { maxEvents: 1000, maxBytes: 1e6, maxAttempts: 30 },
  });
  const transport = createTransport({
    url: "https://pulse.example/v1/events",
    fetch,
    beacon,
    keepaliveSupported,
    now: clock.now,
    log: silentLog,
  });
  const delivery = createDelivery({
    queue,
    transport,
    siteKey: "pk_test",
    options,
    backoff: BACKOFF,
    timers: clock,
    now: clock.now,
    online,
    log: silentLog,
  });
  return { clock, queue, delivery, backing };
}

const sentIds = (call) => call.body.events.map((e) => e.event_id);

test("batching by time: a lone event waits flushInterval, then goes as text/plain", async () => {
  const fetch = scriptedFetch(response(202, { accepted: 1, rejected: [] }));
  const { clock, queue, delivery } = rig({ fetch });
  delivery.add(event(1));
  await clock.advance(2999);
  assert.equal(fetch.calls.length, 0);
  await clock.advance(1);
  assert.equal(fetch.calls.length, 1);
  const { init, body } = fetch.calls[0];
  assert.equal(init.headers["Content-Type"], "text/plain;charset=UTF-8");
  assert.equal(init.keepalive, false);
  assert.equal(body.site_key, "pk_test");
  assert.equal(body.sent_at, new Date(clock.now()).toISOString());
  assert.equal(queue.size(), 0, "acknowledged events leave the queue");
});

test("batching by size: flushAt events go at once, in batches within the byte limit", async () => {
  const fetch = scriptedFetch(response(202, {}));
  const options = { ...OPTIONS, maxBatchBytes: 2_000 };
  const { clock, delivery, queue } = rig({ fetch, options });
  for (let i = 0; i < 5; i++) delivery.add(event(i, 500));
  await settle();
  assert.ok(fetch.calls.length >= 2, "over 2 KB of events is split");
  for (const call of fetch.calls) assert.ok(call.init.body.length <= 2_000, "each body fits");
  assert.deepEqual(fetch.calls.flatMap(sentIds), [0, 1, 2, 3, 4].map((i) => event(i).event_id));
  await clock.advance(0);
  assert.equal(queue.size(), 0);
});

test("takeBatch respects the event count, the byte limit and the skip set", () => {
  const entries = [1, 2, 3, 4].map((i) => ({ e: event(i, 100), n: 0 }));
  const two = takeBatch(entries, { maxEvents: 2, maxBytes: 1e6 });
  assert.deepEqual(two.map((x) => x.e), [event(1, 100), event(2, 100)]);
  const skip = new Set([event(1).event_id]);
  const skipped = takeBatch(entries, { maxEvents: 10, maxBytes: 700, skip });
  assert.deepEqual(skipped.map((x) => x.e.event_id), [event(2).event_id, event(3).event_id]);
});

test("5xx, 429 and network errors are retried with growing backoff and the same event ids", async () => {
  const fetch = scriptedFetch(
    new TypeError("Failed to fetch"),
    response(503, null, { "Retry-After": "7" }),
    response(500),
    response(429),
    response(202, {}),
  );
  const { clock, delivery, queue } = rig({ fetch });
  delivery.add(event(1));
  await clock.advance(3000);
  const times = [clock.now()];
  for (let i = 0; i < 4; i++) {
    const before = fetch.calls.length;
    // Bounded in fake time: a broken retry must fail this test, not spin it forever.
    const giveUpAt = clock.now() + 120_000;
    while (fetch.calls.length === before) {
      assert.ok(clock.now() < giveUpAt, `retry ${i + 1} never came`);
      await clock.advance(100);
    }
    times.push(clock.now());
  }
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  assert.ok(gaps[0] >= 500 && gaps[0] <= 1500, `first retry ~1 s, got ${gaps[0]}`);
  assert.ok(gaps[1] >= 7000, `Retry-After 7 is a floor, got ${gaps[1]}`);
  assert.ok(gaps[3] >= 4000 && gaps[3] <= 12100, `fourth retry ~8 s, got ${gaps[3]}`);
  const idsPerAttempt = fetch.calls.map(sentIds);
  assert.equal(new Set(idsPerAttempt.map(String)).size, 1, "every attempt carries the same ids");
  assert.equal(queue.size(), 0);
});

for (const status of [400, 403, 404, 413, 422]) {
  test(`a ${status} is never retried: the batch is dropped`, async () => {
    const fetch = scriptedFetch(response(status, { error: { code: "x" } }), response(202, {}));
    const { clock, delivery, queue } = rig({ fetch });
    delivery.add(event(1));
    await clock.advance(3000);
    await clock.advance(120_000);
    assert.equal(fetch.calls.length, 1);
    assert.equal(queue.size(), 0);
  });
}

test("offline: nothing is attempted until the browser is back online", async () => {
  let isOnline = false;
  const fetch = scriptedFetch(response(202, {}));
  const { clock, delivery, queue } = rig({ fetch, online: () => isOnline });
  delivery.add(event(1));
  delivery.add(event(2));
  await clock.advance(60_000);
  assert.equal(fetch.calls.length, 0);
  assert.equal(queue.size(), 2);
  isOnline = true;
  delivery.wake();
  await settle();
  assert.deepEqual(fetch.calls.flatMap(sentIds), [event(1).event_id, event(2).event_id]);
  assert.equal(queue.size(), 0);
});

test("back online, the retry happens at once instead of after the backoff", async () => {
  const fetch = scriptedFetch(new TypeError("offline"), new TypeError("offline"), response(202, {}));
  const { clock, delivery, queue } = rig({ fetch });
  delivery.add(event(1));
  await clock.advance(3000);
  await clock.advance(1600);
  assert.equal(fetch.calls.length, 2);
  delivery.wake();
  await settle();
  assert.equal(fetch.calls.length, 3);
  assert.equal(queue.size(), 0);
});

test("on exit everything goes with keepalive, in-flight batches too, within the 64 KB budget", async () => {
  let release;
  const held = new Promise((r) => (release = r));
  const fetch = scriptedFetch(() => held);
  const { clock, delivery, queue } = rig({ fetch, options: { ...OPTIONS, flushAt: 1000 } });
  delivery.add(event(1));
  await clock.advance(3000); // an ordinary request is now in flight, unanswered
  assert.equal(fetch.calls.length, 1);
  for (let i = 2; i <= 200; i++) delivery.add(event(i, 500)); // ~110 KB: over the budget

  delivery.flushOnExit();
  const exits = fetch.calls.slice(1);
  assert.ok(exits.length >= 1 && exits.every((c) => c.init.keepalive === true));
  const bytes = exits.reduce((n, c) => n + Buffer.byteLength(c.init.body), 0);
  assert.ok(bytes <= KEEPALIVE_BUDGET, `${bytes} bytes fit the keepalive budget`);
  const carried = new Set(exits.flatMap(sentIds));
  assert.ok(carried.has(event(1).event_id), "the in-flight batch is resent: the page may cancel it");
  assert.ok(carried.size < 200, "what does not fit waits in storage for the next page");

  delivery.flushOnExit(); // pagehide right after visibilitychange: nothing sent twice
  assert.equal(fetch.calls.length, 1 + exits.length);
  assert.equal(queue.size(), 200, "nothing leaves the queue before the server answers");
  release(response(202, {}));
  await settle();
  assert.ok(queue.size() <= 200 - carried.size);
});

test("without keepalive support, sendBeacon takes the exit batch, and the queue keeps it", async () => {
  const beacons = [];
  const beacon = (url, blob) => beacons.push({ url, blob }) > 0;
  const fetch = scriptedFetch(response(202, {}));
  const { delivery, queue } = rig({ fetch, beacon, keepaliveSupported: false });
  delivery.add(event(1));
  delivery.flushOnExit();
  await settle();
  assert.equal(fetch.calls.length, 0);
  assert.equal(beacons.length, 1);
  const body = JSON.parse(await beacons[0].blob.text());
  assert.deepEqual(body.events.map((e) => e.event_id), [event(1).event_id]);
  assert.equal(beacons[0].blob.type, "text/plain;charset=utf-8");
  assert.equal(queue.size(), 1, "a beacon's fate is unknown: resent later, deduplicated by id");
});

test("a keepalive fetch the browser refuses falls back to sendBeacon", async () => {
  const beacons = [];
  const fetch = scriptedFetch(new TypeError("keepalive budget exceeded"));
  const { delivery } = rig({ fetch, beacon: (u, b) => beacons.push(b) > 0 });
  delivery.add(event(1));
  delivery.flushOnExit();
  await settle();
  assert.equal(fetch.calls.length, 1);
  assert.equal(beacons.length, 1);
});

test("paused (no consent yet): nothing is sent until resumed", async () => {
  const fetch = scriptedFetch(response(202, {}));
  const { clock, delivery } = rig({ fetch });
  delivery.pause();
  delivery.add(event(1));
  await clock.advance(10_000);
  delivery.flushOnExit();
  assert.equal(fetch.calls.length, 0);
  delivery.resume();
  await settle();
  assert.equal(fetch.calls.length, 1);
});
