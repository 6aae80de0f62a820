// Stand-ins for the browser pieces the snippet's modules take as arguments, for node:test.

/** localStorage: a Map behind the Storage interface, optionally refusing writes past `quota`. */
export class FakeStorage {
  constructor({ quota = Infinity } = {}) {
    this.map = new Map();
    this.quota = quota;
  }
  get length() {
    return this.map.size;
  }
  key(i) {
    return [...this.map.keys()][i] ?? null;
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    const used = [...this.map].reduce((n, [key, val]) => n + (key === k ? 0 : val.length), 0);
    if (used + String(v).length > this.quota) {
      const err = new Error("quota");
      err.name = "QuotaExceededError";
      throw err;
    }
    this.map.set(k, String(v));
  }
  removeItem(k) {
    this.map.delete(k);
  }
}

/** A clock with timers that run only when the test advances it. */
export class FakeClock {
  constructor(start = Date.UTC(2026, 10, 23, 10)) {
    this.t = start;
    this.timers = [];
    this.now = () => this.t;
    this.setTimeout = (fn, ms) => {
      const timer = { at: this.t + Math.max(0, ms), fn };
      this.timers.push(timer);
      return timer;
    };
    this.clearTimeout = (timer) => {
      this.timers = this.timers.filter((x) => x !== timer);
    };
    this.sleep = (ms) => new Promise((resolve) => this.setTimeout(resolve, ms));
  }
  /** Move time forward, firing due timers in order and letting their promises settle. */
  async advance(ms) {
    const end = this.t + ms;
    for (;;) {
      await settle();
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
    await settle();
  }
  pending() {
    return this.timers.map((x) => x.at - this.t);
  }
}

/** Let queued promise callbacks run (a few rounds, for chains of awaits). */
export async function settle(rounds = 20) {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** A fetch Response with the parts the snippet reads. */
export function response(status, body = null, headers = {}) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const text = body == null ? "" : JSON.stringify(body);
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: { get: (name) => lower[name.toLowerCase()] ?? null },
    json: async () => JSON.parse(text),
    text: async () => text,
  };
}

/** A fetch that answers from a script of responses (or errors) and records every call. */
export function scriptedFetch(...answers) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    calls.push({ url, init, body: init.body ? JSON.parse(init.body) : undefined });
    const next = answers.length > 1 ? answers.shift() : answers[0];
    const answer = typeof next === "function" ? next(url, init) : next;
    if (answer instanceof Error) throw answer;
    return answer;
  };
  fetch.calls = calls;
  return fetch;
}

export const silentLog = { on: false, debug() {}, error() {} };
