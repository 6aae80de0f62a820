// The bounded persistent queue of events not yet acknowledged by the server. Every call reads
// and writes storage afresh, never a cached copy: the site's other tabs share the stored queue,
// and writing back a stale copy would drop the events they added meanwhile.
export const QUEUE_LIMITS = { maxEvents: 1000, maxBytes: 1_000_000, maxAttempts: 30 };

export function createQueue({ store, key, limits = QUEUE_LIMITS, log }) {
  const read = () => {
    const items = store.get(key);
    return Array.isArray(items) ? items.filter((x) => x && x.e && x.e.event_id) : [];
  };

  // Oldest first out when full (Snowplow's cap, after queues filled whole localStorage quotas).
  function write(items) {
    let dropped = 0;
    let sizes = items.map((x) => JSON.stringify(x).length);
    let total = sizes.reduce((a, b) => a + b, 0);
    while (items.length > limits.maxEvents || (items.length > 1 && total > limits.maxBytes)) {
      total -= sizes.shift();
      items.shift();
      dropped++;
    }
    if (dropped) log?.debug(`queue full: dropped the ${dropped} oldest events`);
    if (items.length) store.set(key, items);
    else store.remove(key);
    return dropped;
  }

  return {
    all: read,
    size: () => read().length,
    push(event) {
      const items = read();
      items.push({ e: event, n: 0 });
      return write(items);
    },
    remove(ids) {
      const gone = new Set(ids);
      const items = read();
      const kept = items.filter((x) => !gone.has(x.e.event_id));
      if (kept.length !== items.length) write(kept);
    },
    // A failed attempt counts against each event; an event that keeps failing is given up, so
    // one the server can never take (but answers opaquely) does not block the queue forever.
    failed(ids) {
      const hit = new Set(ids);
      const items = read();
      const kept = [];
      for (const x of items) {
        if (hit.has(x.e.event_id)) x.n = (x.n || 0) + 1;
        if (x.n < limits.maxAttempts) kept.push(x);
      }
      const given = items.length - kept.length;
      if (given) log?.debug(`gave up on ${given} events after ${limits.maxAttempts} attempts`);
      write(kept);
      return given;
    },
    clear: () => store.remove(key),
  };
}
