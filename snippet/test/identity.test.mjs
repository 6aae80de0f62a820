import assert from "node:assert/strict";
import test from "node:test";
import { createConsent, DENIED, GRANTED, PENDING } from "../src/consent.js";
import { createIdentity, SESSION_TIMEOUT_MS } from "../src/identity.js";
import { uuidv7 } from "../src/ids.js";
import { createStore } from "../src/storage.js";
import { FakeClock, FakeStorage, silentLog } from "../test-support/fakes.mjs";

test("uuidv7: valid version-7 UUIDs that sort by creation time", () => {
  const a = uuidv7(1_700_000_000_000);
  const b = uuidv7(1_700_000_000_001);
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.ok(a < b);
  assert.equal(a.slice(0, 13).replace("-", ""), (1_700_000_000_000).toString(16).padStart(12, "0"));
  assert.notEqual(uuidv7(5), uuidv7(5), "the random part differs");
});

function identity(backing, clock, allowed = true) {
  const store = createStore({ backing, allowed, log: silentLog });
  return createIdentity({ store, now: clock.now });
}

test("the anonymous id persists across page loads; reset() makes a new one", () => {
  const backing = new FakeStorage();
  const clock = new FakeClock();
  const first = identity(backing, clock).anonymousId();
  assert.equal(identity(backing, clock).anonymousId(), first);
  const again = identity(backing, clock);
  again.setUserId("user-1");
  again.reset();
  assert.notEqual(again.anonymousId(), first);
  assert.equal(again.userId(), undefined);
});

test("the session lasts while active and rotates after 30 minutes of inactivity", () => {
  const backing = new FakeStorage();
  const clock = new FakeClock();
  const id = identity(backing, clock);
  const s1 = id.sessionId();
  clock.t += SESSION_TIMEOUT_MS - 1000;
  assert.equal(id.sessionId(), s1, "activity within 30 minutes keeps the session");
  clock.t += SESSION_TIMEOUT_MS - 1000;
  assert.equal(identity(backing, clock).sessionId(), s1, "another page load shares it");
  clock.t += SESSION_TIMEOUT_MS;
  assert.notEqual(id.sessionId(), s1);
});

test("consent: granted by default, pending when required, and a stored choice is kept", () => {
  assert.equal(createConsent({ backing: new FakeStorage() }).state(), GRANTED);
  const backing = new FakeStorage();
  const consent = createConsent({ required: true, backing });
  assert.equal(consent.state(), PENDING);
  assert.equal(backing.length, 0, "nothing stored before a choice");
  const seen = [];
  consent.onChange((s) => seen.push(s));
  consent.set(false);
  assert.deepEqual(seen, [DENIED]);
  assert.equal(createConsent({ backing }).state(), DENIED, "a refusal is remembered");
  consent.set(true);
  assert.equal(createConsent({ required: true, backing }).state(), GRANTED);
});

test("Do-Not-Track and Global Privacy Control deny when honoured, and cannot be overridden", () => {
  const dnt = createConsent({ honorDnt: true, nav: { doNotTrack: "1" }, backing: new FakeStorage() });
  assert.equal(dnt.state(), DENIED);
  assert.equal(dnt.set(true), false);
  assert.equal(dnt.state(), DENIED);
  const gpc = createConsent({ honorDnt: true, nav: { globalPrivacyControl: true } });
  assert.equal(gpc.state(), DENIED);
  const ignored = createConsent({ honorDnt: false, nav: { doNotTrack: "1" } });
  assert.equal(ignored.state(), GRANTED);
});
