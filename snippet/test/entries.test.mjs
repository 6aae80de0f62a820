import assert from "node:assert/strict";
import test from "node:test";
import { createEntries, EntryError } from "../src/entries.js";
import { FakeClock, response, scriptedFetch } from "../test-support/fakes.mjs";

const ACTIVITY = "0193a1b2-0000-7000-8000-000000000001";
const TIMING = { deadlineMs: 30_000, retry: { baseMs: 500, capMs: 5_000 }, poll: { baseMs: 250, capMs: 2_000 } };

function client(fetch, extra = {}) {
  const clock = new FakeClock();
  const slept = [];
  const enter = createEntries({
    endpoint: "https://pulse.example",
    siteKey: "pk_demo",
    fetch,
    anonymousId: () => "anon-1",
    userId: () => extra.userId,
    timing: TIMING,
    sleep: (ms) => {
      slept.push(ms);
      clock.t += ms;
      return Promise.resolve();
    },
    now: clock.now,
    random: () => 0.5,
  });
  return { enter, slept, clock };
}

test("a confirmed entry resolves at once; the body carries the token and the anonymous id", async () => {
  const fetch = scriptedFetch(response(202, { entry_id: "e1", status: "confirmed", position: 3 }));
  const { enter } = client(fetch);
  const result = await enter(ACTIVITY, { userToken: "jwt.token.here" });
  assert.deepEqual(result, { entry_id: "e1", status: "confirmed", position: 3 });
  const [call] = fetch.calls;
  assert.equal(call.url, `https://pulse.example/v1/activities/${ACTIVITY}/entries`);
  assert.equal(call.init.method, "POST");
  assert.equal(call.init.headers["Content-Type"], "application/json");
  assert.match(call.init.headers["Idempotency-Key"], /^[0-9a-f-]{36}$/);
  assert.deepEqual(call.body, { site_key: "pk_demo", anonymous_id: "anon-1", user_token: "jwt.token.here" });
});

test("demo sites: user_id instead of a token, from the option or identify()", async () => {
  const fetch = scriptedFetch(response(202, { entry_id: "e1", status: "confirmed" }));
  await client(fetch, { userId: "shopper-7" }).enter(ACTIVITY);
  await client(fetch).enter(ACTIVITY, { userId: "given" });
  assert.equal(fetch.calls[0].body.user_id, "shopper-7");
  assert.equal(fetch.calls[1].body.user_id, "given");
  assert.equal(fetch.calls[1].body.user_token, undefined);
});

test("retries reuse one Idempotency-Key; 429 waits for Retry-After", async () => {
  const fetch = scriptedFetch(
    new TypeError("Failed to fetch"),
    response(503, { error: { code: "bus_unavailable" } }),
    response(429, { error: { code: "rate_limited" } }, { "Retry-After": "3" }),
    response(202, { entry_id: "e1", status: "rejected", reason: "sold_out" }),
  );
  const { enter, slept } = client(fetch);
  const result = await enter(ACTIVITY, { userToken: "t" });
  assert.deepEqual(result, { entry_id: "e1", status: "rejected", reason: "sold_out" });
  const keys = fetch.calls.map((c) => c.init.headers["Idempotency-Key"]);
  assert.equal(keys.length, 4);
  assert.equal(new Set(keys).size, 1);
  assert.ok(slept[2] >= 3000, `Retry-After honoured, slept ${slept[2]}`);
  const second = scriptedFetch(response(202, { entry_id: "e2", status: "confirmed" }));
  await client(second).enter(ACTIVITY, { userToken: "t" });
  assert.notEqual(second.calls[0].init.headers["Idempotency-Key"], keys[0], "a new call, a new key");
});

test("other 4xx reject at once with the server's error code, message and details", async () => {
  const body = { error: { code: "activity_not_found", message: "no such activity", details: { id: 1 } } };
  const fetch = scriptedFetch(response(404, body));
  await assert.rejects(client(fetch).enter(ACTIVITY, { userToken: "t" }), (err) => {
    assert.ok(err instanceof EntryError);
    assert.deepEqual([err.code, err.message, err.status, err.details], ["activity_not_found", "no such activity", 404, { id: 1 }]);
    return true;
  });
  assert.equal(fetch.calls.length, 1);
});

test("persistent failure rejects when the deadline passes, with the last error", async () => {
  const fetch = scriptedFetch(response(503, { error: { code: "bus_unavailable" } }));
  const { enter, clock } = client(fetch);
  const start = clock.now();
  await assert.rejects(enter(ACTIVITY, { userToken: "t" }), { code: "bus_unavailable" });
  assert.ok(clock.now() - start <= 30_000);
  assert.ok(fetch.calls.length > 3);
});

test("reserved: polls GET /v1/entries/{id} (404 = not yet) until the decision", async () => {
  const fetch = scriptedFetch(
    response(202, { entry_id: "e9", status: "reserved", position: 12 }),
    response(404, { error: { code: "entry_not_found" } }),
    response(200, { entry_id: "e9", activity_id: ACTIVITY, status: "reserved", position: 12 }),
    response(502),
    response(200, { entry_id: "e9", activity_id: ACTIVITY, status: "confirmed", position: 12 }),
  );
  const { enter, slept } = client(fetch);
  const result = await enter(ACTIVITY, { userToken: "t" });
  assert.equal(result.status, "confirmed");
  assert.deepEqual(fetch.calls.slice(1).map((c) => [c.init.method, c.url]), [
    ["GET", "https://pulse.example/v1/entries/e9"],
    ["GET", "https://pulse.example/v1/entries/e9"],
    ["GET", "https://pulse.example/v1/entries/e9"],
    ["GET", "https://pulse.example/v1/entries/e9"],
  ]);
  assert.ok(slept[1] > slept[0], "polling backs off");
});

test("still reserved at the deadline: resolves with the reservation, the caller keeps its id", async () => {
  const fetch = scriptedFetch(
    response(202, { entry_id: "e5", status: "reserved" }),
    response(200, { entry_id: "e5", activity_id: ACTIVITY, status: "reserved" }),
  );
  const { enter, clock } = client(fetch);
  const start = clock.now();
  const result = await enter(ACTIVITY, { userToken: "t", timeoutMs: 5_000 });
  assert.deepEqual(result, { entry_id: "e5", activity_id: ACTIVITY, status: "reserved" });
  assert.ok(clock.now() - start <= 5_000);
});

test("enter() without an activity id rejects without a request", async () => {
  const fetch = scriptedFetch(response(202, {}));
  await assert.rejects(client(fetch).enter(""), { code: "invalid_activity" });
  assert.equal(fetch.calls.length, 0);
});
