// Identifiers. UUIDv7 sorts by creation time, which keeps event ids in order in the store;
// crypto.getRandomValues exists in insecure (http) contexts too, crypto.randomUUID does not.
const fillRandom = (bytes) => globalThis.crypto.getRandomValues(bytes);

export function uuidv7(now = Date.now(), random = fillRandom) {
  const b = random(new Uint8Array(16));
  let t = now;
  for (let i = 5; i >= 0; i--) {
    b[i] = t % 256;
    t = Math.floor(t / 256);
  }
  b[6] = 0x70 | (b[6] & 0x0f); // version 7
  b[8] = 0x80 | (b[8] & 0x3f); // RFC 4122 variant
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
