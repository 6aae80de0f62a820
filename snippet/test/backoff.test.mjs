import assert from "node:assert/strict";
import test from "node:test";
import { BACKOFF, backoffDelay, retryAfterMs } from "../src/backoff.js";

test("backoff doubles from the base and stops at the cap", () => {
  const mid = () => 0.5; // no jitter
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelay(n, BACKOFF, mid)),
    [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000],
  );
});

test("jitter spreads each delay over ±50 %, never past the cap", () => {
  assert.equal(backoffDelay(2, BACKOFF, () => 0), 2000);
  assert.equal(backoffDelay(2, BACKOFF, () => 0.999), 5996);
  assert.equal(backoffDelay(10, BACKOFF, () => 0.999), 60000);
  const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(3)));
  assert.ok(seen.size > 10, "real randomness gives different delays");
  for (const d of seen) assert.ok(d >= 4000 && d <= 12000, `${d} within 8000 ± 50 %`);
});

test("Retry-After: seconds or an HTTP date; nonsense is ignored; capped at ten minutes", () => {
  const now = Date.UTC(2026, 10, 23, 10, 0, 0);
  assert.equal(retryAfterMs("2", now), 2000);
  assert.equal(retryAfterMs("Mon, 23 Nov 2026 10:00:30 GMT", now), 30000);
  assert.equal(retryAfterMs("Mon, 23 Nov 2026 09:00:00 GMT", now), 0);
  assert.equal(retryAfterMs("soon", now), 0);
  assert.equal(retryAfterMs(null, now), 0);
  assert.equal(retryAfterMs("86400", now), 600000);
});
