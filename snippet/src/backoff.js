// Retry timing: exponential backoff with ±50 % jitter (PostHog's), so that thousands of
// browsers that failed together do not come back together; a server's Retry-After is a floor.
export const BACKOFF = { baseMs: 1000, capMs: 60_000 };
const MAX_RETRY_AFTER_MS = 10 * 60_000;

export function backoffDelay(attempt, { baseMs, capMs } = BACKOFF, random = Math.random) {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.round(Math.min(capMs, exp * (0.5 + random())));
}

// Retry-After is either delta-seconds or an HTTP date; anything else is ignored.
export function retryAfterMs(value, now = Date.now()) {
  if (value == null || value === "") return 0;
  const ms = /^\s*\d+\s*$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms)) : 0;
}
