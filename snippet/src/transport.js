// One POST of a batch and what its answer means. Bodies are text/plain: a CORS "simple"
// request, so cross-origin posts need no preflight. Network errors, 408, 429 and 5xx are worth
// retrying; any other 4xx will fail the same way again, so the batch is dropped.
import { retryAfterMs } from "./backoff.js";
import { byteLength } from "./batch.js";

export const OK = "ok";
export const RETRY = "retry";
export const DROP = "drop";
export const HANDED_OFF = "handed_off"; // given to sendBeacon: its fate is never known
export const KEEPALIVE_BUDGET = 64 * 1024; // bytes of keepalive bodies in flight, per page

export function verdict(status, retryAfter, now = Date.now()) {
  if (status >= 200 && status < 300) return { kind: OK, status };
  if (status === 408 || status === 429 || status >= 500) {
    return { kind: RETRY, status, retryAfterMs: retryAfterMs(retryAfter, now) };
  }
  return { kind: DROP, status };
}

export function createTransport({ url, fetch, beacon, keepaliveSupported = true, now = Date.now, log }) {
  let keepaliveInFlight = 0;

  function encode(siteKey, events) {
    // sent_at is stamped per attempt: the server corrects clock skew with it.
    return JSON.stringify({ site_key: siteKey, sent_at: new Date(now()).toISOString(), events });
  }

  function viaBeacon(body) {
    try {
      const blob = new Blob([body], { type: "text/plain;charset=UTF-8" });
      return beacon && beacon(url, blob) ? { kind: HANDED_OFF } : { kind: RETRY, retryAfterMs: 0 };
    } catch {
      return { kind: RETRY, retryAfterMs: 0 };
    }
  }

  async function send(body, { keepalive = false } = {}) {
    if (keepalive && !keepaliveSupported) return viaBeacon(body);
    const size = keepalive ? byteLength(body) : 0;
    keepaliveInFlight += size;
    try {
      const res = await fetch(url, {
        method: "POST",
        body,
        keepalive,
        credentials: "omit",
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
      });
      const result = verdict(res.status, res.headers.get("Retry-After"), now());
      if (log?.on) log.debug(`POST ${url} -> ${res.status}`, await res.text().catch(() => ""));
      return result;
    } catch (err) {
      log?.debug(`POST ${url} failed`, err && err.message);
      // A keepalive fetch the browser refused outright (over its budget) while the page is
      // going away: sendBeacon is the last chance, as the fallback.
      if (keepalive) return viaBeacon(body);
      return { kind: RETRY, retryAfterMs: 0 };
    } finally {
      keepaliveInFlight -= size;
    }
  }

  return { encode, send, keepaliveBudget: () => KEEPALIVE_BUDGET - keepaliveInFlight };
}
