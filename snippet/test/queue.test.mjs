import assert from "node:assert/strict";
import test from "node:test";
import { createQueue } from "../src/queue.js";
import { createStore } from "../src/storage.js";
import { FakeStorage, silentLog } from "../test-support/fakes.mjs";

const event = (id, extra = {}) => ({ event_id: id, type: "click", ...extra });
const ids = (q) => q.all().map((x) => x.e.event_id);
const LIMITS = { maxEvents: 1000, maxBytes: 1_000_000, maxAttempts: 3 };

function queueOver(backing, limits = LIMITS, allowed = true) {
  const store = createStore({ backing, allowed, log: silentLog });
  return { store, queue: createQueue({ store, key: "q_site", limits, log: silentLog }) };
}

test("events survive a reload: a new queue over the same storage sees them", () => {
  const backing = new FakeStorage();
  const { queue } = queueOver(backing);
  queue.push(event("a"));
  queue.push(event("b"));
  const { queue: reloaded } = queueOver(backing);
  assert.deepEqual(ids(reloaded), ["a", "b"]);
  reloaded.remove(["a"]);
  assert.deepEqual(ids(queueOver(backing).queue), ["b"]);
});

test("bounded: past the count or byte cap the oldest events go first", () => {
  const { queue } = queueOver(new FakeStorage(), { ...LIMITS, maxEvents: 3 });
  for (const id of ["a", "b", "c", "d", "e"]) queue.push(event(id));
  assert.deepEqual(ids(queue), ["c", "d", "e"]);

  const small = queueOver(new FakeStorage(), { ...LIMITS, maxBytes: 300 }).queue;
  for (const id of ["a", "b", "c", "d"]) small.push(event(id, { pad: "x".repeat(80) }));
  assert.deepEqual(ids(small), ["c", "d"]);
});

test("two tabs sharing storage never drop each other's events", () => {
  const backing = new FakeStorage();
  const tab1 = queueOver(backing).queue;
  const tab2 = queueOver(backing).queue;
  tab1.push(event("from-1"));
  tab2.push(event("from-2"));
  tab1.remove(["from-1"]); // tab 1's batch was acknowledged
  assert.deepEqual(ids(tab2), ["from-2"]);
});

test("a failing event is given up after maxAttempts, the others stay", () => {
  const { queue } = queueOver(new FakeStorage());
  queue.push(event("poison"));
  queue.push(event("fine"));
  assert.equal(queue.failed(["poison"]), 0);
  assert.equal(queue.failed(["poison"]), 0);
  assert.equal(queue.failed(["poison"]), 1);
  assert.deepEqual(ids(queue), ["fine"]);
  assert.equal(queue.all()[0].n, 0);
});

test("a full localStorage (QuotaExceededError) loses nothing: the queue carries on in memory", () => {
  const backing = new FakeStorage({ quota: 200 });
  const { queue } = queueOver(backing);
  for (const id of ["a", "b", "c", "d", "e"]) queue.push(event(id, { pad: "x".repeat(30) }));
  assert.deepEqual(ids(queue), ["a", "b", "c", "d", "e"]);
  queue.remove(["a", "b", "c", "d"]);
  assert.deepEqual(ids(queue), ["e"]);
});

test("without consent nothing is written; granting moves it to storage; withdrawing wipes it", () => {
  const backing = new FakeStorage();
  const { store, queue } = queueOver(backing, LIMITS, false);
  queue.push(event("early"));
  store.set("aid", "anon-1");
  assert.equal(backing.length, 0);
  assert.deepEqual(ids(queue), ["early"]);

  store.allow(true);
  assert.equal(backing.getItem("pulse_aid"), '"anon-1"');
  assert.deepEqual(ids(queueOver(backing).queue), ["early"]);

  backing.setItem("pulseConsent", "denied");
  backing.setItem("site_own_key", "kept");
  store.allow(false);
  assert.deepEqual([...backing.map.keys()].sort(), ["pulseConsent", "site_own_key"]);
});

test("withdrawing wipes every Pulse key even when the browser reorders keys as they go", () => {
  // Browsers define no order for key(i); this one reverses its order at every removal.
  class ReorderingStorage extends FakeStorage {
    removeItem(k) {
      super.removeItem(k);
      this.map = new Map([...this.map].reverse());
    }
  }
  const backing = new ReorderingStorage();
  const store = createStore({ backing, allowed: true, log: silentLog });
  for (const k of ["aid", "sid", "uid", "touch", "defs_site", "q_site"]) store.set(k, k);
  backing.setItem("pulseConsent", "denied");
  backing.setItem("site_own_key", "kept");
  store.allow(false);
  assert.deepEqual([...backing.map.keys()].sort(), ["pulseConsent", "site_own_key"]);
  assert.equal(store.get("aid"), null, "nothing is read back from storage once forbidden");
});
