// pulse('enter', activityId, {userToken}): one campaign entry. The Idempotency-Key is made once
// per call and reused on every retry, so a retried request never enters the shopper twice.
// A "reserved" answer is provisional: the entry is polled until confirmed or rejected.
import { backoffDelay, retryAfterMs } from "./backoff.js";
import { uuidv7 } from "./ids.js";

export const ENTRY_TIMING = {
  deadlineMs: 30_000, // the whole call, retries and polling included
  retry: { baseMs: 500, capMs: 5_000 },
  poll: { baseMs: 250, capMs: 2_000 },
};

export class EntryError extends Error {
  constructor(code, message, status, details) {
    super(message || code);
    this.name = "EntryError";
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

const retryable = (status) => status === 408 || status === 429 || status >= 500;

async function errorOf(res) {
  const body = await res.json().catch(() => null);
  const e = (body && body.error) || {};
  return new EntryError(e.code || `http_${res.status}`, e.message, res.status, e.details);
}

export function createEntries({
  endpoint,
  siteKey,
  fetch,
  anonymousId,
  userId = () => undefined,
  timing = ENTRY_TIMING,
  sleep = (ms) => new Promise((r) => setTimeout(r, ms)),
  now = Date.now,
  random = Math.random,
  log,
}) {
  // Retries network errors, 408, 429 (after Retry-After) and 5xx until the deadline.
  async function request(url, init, deadline, pace, acceptNotFound = false) {
    for (let attempt = 0; ; attempt++) {
      let res = null;
      let failure;
      try {
        res = await fetch(url, { credentials: "omit", ...init });
      } catch (err) {
        failure = new EntryError("network_error", err && err.message);
      }
      if (res && (res.ok || (acceptNotFound && res.status === 404))) return res;
      if (res && !retryable(res.status)) throw await errorOf(res);
      if (res) failure = await errorOf(res);
      const floor = res ? retryAfterMs(res.headers.get("Retry-After"), now()) : 0;
      const delay = Math.max(backoffDelay(attempt, pace, random), floor);
      if (now() + delay > deadline) throw failure;
      log?.debug(`entry request failed (${failure.code}); retrying in ${delay} ms`);
      await sleep(delay);
    }
  }

  return async function enter(activityId, options = {}) {
    if (typeof activityId !== "string" || !activityId) {
      throw new EntryError("invalid_activity", "enter() needs an activity id");
    }
    const deadline = now() + (options.timeoutMs ?? timing.deadlineMs);
    const body = { site_key: siteKey, anonymous_id: anonymousId() };
    if (options.userToken) body.user_token = options.userToken;
    else {
      // Only demo sites accept a bare user id; real sites need the token their backend signed.
      const uid = options.userId ?? userId();
      if (uid) body.user_id = uid;
    }
    const res = await request(
      `${endpoint}/v1/activities/${encodeURIComponent(activityId)}/entries`,
      {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": uuidv7(now()) },
        body: JSON.stringify(body),
      },
      deadline,
      timing.retry,
    );
    let result = await res.json();
    log?.debug("entry", result);
    for (let attempt = 0; result.status === "reserved"; attempt++) {
      const delay = backoffDelay(attempt, timing.poll, random);
      if (now() + delay > deadline) break; // still reserved: the caller sees it and may poll on
      await sleep(delay);
      let poll;
      try {
        poll = await request(
          `${endpoint}/v1/entries/${encodeURIComponent(result.entry_id)}`,
          { method: "GET" },
          deadline,
          timing.poll,
          true, // a 404 right after the POST means "not visible yet": keep polling
        );
      } catch (err) {
        // The entry exists (the POST was answered); the caller keeps its id and may ask later.
        log?.debug("entry poll gave up", err && err.code);
        break;
      }
      if (poll.status !== 404) result = await poll.json();
    }
    return result;
  };
}
