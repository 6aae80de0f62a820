// Cutting the queue into request bodies: at most `maxEvents` events and about `maxBytes` bytes
// each, so a batch stays inside the server's limits and the 64 KB keepalive budget.
export const ENVELOPE_BYTES = 160; // {"site_key":…,"sent_at":…,"events":[]} around the events
const encoder = new TextEncoder();

export const byteLength = (s) => encoder.encode(s).length;
export const entryBytes = (entry) => byteLength(JSON.stringify(entry.e)) + 1;

// The first entries not in `skip` that fit; the first one always goes (alone if it must).
export function takeBatch(entries, { maxEvents, maxBytes, skip }) {
  const batch = [];
  let bytes = ENVELOPE_BYTES;
  for (const entry of entries) {
    if (skip && skip.has(entry.e.event_id)) continue;
    const size = entryBytes(entry);
    if (batch.length && (batch.length >= maxEvents || bytes + size > maxBytes)) break;
    batch.push(entry);
    bytes += size;
  }
  return batch;
}

export function chunks(entries, limits) {
  const skip = new Set(limits.skip || []);
  const out = [];
  for (;;) {
    const batch = takeBatch(entries, { ...limits, skip });
    if (!batch.length) return out;
    for (const entry of batch) skip.add(entry.e.event_id);
    out.push(batch);
  }
}
