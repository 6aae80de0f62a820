// Getting queued events to the server: batches by size and time, one request at a time,
// backoff after failures, a dash for the exit when the page is hidden or closed, and nothing
// removed from the queue until the server has answered 2xx for it.
import { backoffDelay, BACKOFF } from "./backoff.js";
import { byteLength, chunks, takeBatch } from "./batch.js";
import { DROP, HANDED_OFF, OK, RETRY } from "./transport.js";

export const DELIVERY = {
  flushAt: 20, // events that trigger an immediate flush
  flushInterval: 3000, // ms an event may wait for company
  maxBatchEvents: 100,
  maxBatchBytes: 60_000, // under the 64 KB keepalive budget, far under the server's 500 KB
};

export function createDelivery({
  queue,
  transport,
  siteKey,
  options = DELIVERY,
  backoff = BACKOFF,
  timers = globalThis,
  now = Date.now,
  online = () => true,
  log,
}) {
  let timer = null;
  let sending = false;
  let failures = 0;
  let retryAt = 0;
  let paused = false;
  // Ids riding on keepalive requests, which outlive the page: not sent again while pending.
  const carried = new Set();
  const limits = () => ({ maxEvents: options.maxBatchEvents, maxBytes: options.maxBatchBytes });

  function schedule(ms) {
    if (timer !== null) return;
    timer = timers.setTimeout(() => {
      timer = null;
      flush();
    }, Math.max(0, ms));
  }

  function settle(batch, result) {
    const ids = batch.map((x) => x.e.event_id);
    if (result.kind === HANDED_OFF) return; // kept: resent later, deduplicated by event id
    if (result.kind === RETRY) {
      queue.failed(ids);
      const delay = Math.max(backoffDelay(failures++, backoff), result.retryAfterMs || 0);
      retryAt = now() + delay;
      log?.debug(`retrying ${ids.length} events in ${delay} ms`);
      schedule(delay);
      return;
    }
    if (result.kind === DROP) log?.error(`the server refused ${ids.length} events (${result.status})`);
    queue.remove(ids);
    failures = 0;
    retryAt = 0;
  }

  async function flush() {
    if (paused || sending) return;
    if (!online()) return; // the `online` event brings us back
    const wait = retryAt - now();
    if (wait > 0) return schedule(wait);
    const batch = takeBatch(queue.all(), { ...limits(), skip: carried });
    if (!batch.length) return;
    sending = true;
    let result;
    try {
      result = await transport.send(transport.encode(siteKey, batch.map((x) => x.e)));
    } finally {
      sending = false;
    }
    settle(batch, result);
    if (result.kind === OK || result.kind === DROP) {
      if (takeBatch(queue.all(), { ...limits(), skip: carried }).length) return flush();
    }
  }

  // On pagehide / visibilitychange: send everything not already riding on a keepalive request,
  // including a batch whose ordinary request the unloading page may cancel (duplicates are
  // harmless, the server deduplicates event ids). What exceeds the budget waits in storage.
  function flushOnExit() {
    if (paused) return;
    let budget = transport.keepaliveBudget();
    for (const batch of chunks(queue.all(), { ...limits(), skip: carried })) {
      const body = transport.encode(siteKey, batch.map((x) => x.e));
      const size = byteLength(body);
      if (size > budget) break;
      budget -= size;
      for (const x of batch) carried.add(x.e.event_id);
      transport.send(body, { keepalive: true }).then((result) => {
        for (const x of batch) carried.delete(x.e.event_id);
        settle(batch, result);
      });
    }
  }

  return {
    add(event) {
      queue.push(event);
      if (paused) return;
      if (queue.size() >= options.flushAt && retryAt <= now()) flush();
      else schedule(options.flushInterval);
    },
    flush,
    flushOnExit,
    // Back online: whatever the backoff said, now is the moment to try.
    wake() {
      failures = 0;
      retryAt = 0;
      flush();
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      flush();
    },
  };
}
