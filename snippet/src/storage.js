// First-party storage that respects consent: until storing is allowed, values live in memory
// only; allowing moves them to localStorage, forbidding wipes what Pulse stored.
const PREFIX = "pulse_";

export function safeLocalStorage(win) {
  try {
    // Reading the property itself throws when the browser blocks storage (e.g. some iframes).
    const ls = win.localStorage;
    ls.getItem(PREFIX + "probe");
    return ls;
  } catch {
    return null;
  }
}

export function createStore({ backing, allowed = false, log }) {
  const mem = new Map();
  let persist = allowed && !!backing;

  function get(key) {
    if (mem.has(key)) return mem.get(key);
    if (!persist) return null;
    try {
      const raw = backing.getItem(PREFIX + key);
      return raw == null ? null : JSON.parse(raw);
    } catch {
      return null; // corrupt or unreadable: start afresh rather than break the page
    }
  }

  function set(key, value) {
    if (persist) {
      try {
        backing.setItem(PREFIX + key, JSON.stringify(value));
        mem.delete(key);
        return true;
      } catch (err) {
        // QuotaExceededError (full, or Safari private mode): keep working from memory.
        log?.debug("storage refused", key, err && err.name);
      }
    }
    mem.set(key, value);
    return false;
  }

  function remove(key) {
    mem.delete(key);
    if (persist) {
      try {
        backing.removeItem(PREFIX + key);
      } catch {
        // nothing to undo
      }
    }
  }

  function allow(flag) {
    if (!backing || flag === persist) return;
    if (flag) {
      persist = true;
      const pending = [...mem];
      mem.clear();
      for (const [k, v] of pending) set(k, v);
      return;
    }
    persist = false;
    wipe();
  }

  // The keys are listed first and removed after: `key(i)`'s order is the browser's own and may
  // change as items go, so removing while indexing can skip one. A second pass catches a key
  // another script of the page wrote in between.
  function wipe() {
    for (let pass = 0; pass < 2; pass++) {
      let keys;
      try {
        keys = [];
        for (let i = 0; i < backing.length; i++) {
          const k = backing.key(i);
          if (k && k.startsWith(PREFIX)) keys.push(k);
        }
      } catch {
        return; // storage vanished: nothing left to wipe
      }
      if (!keys.length) return;
      for (const k of keys) {
        try {
          backing.removeItem(k);
        } catch {
          // one unremovable key must not keep the others
        }
      }
    }
  }

  return { get, set, remove, allow, persistent: () => persist };
}
