// Who the events are about: an anonymous id per browser, the user id given to identify(), and a
// session id that rotates after 30 minutes without activity (the usual web-analytics session).
import { uuidv7 } from "./ids.js";

export const SESSION_TIMEOUT_MS = 30 * 60 * 1000;

export function createIdentity({ store, now = Date.now, sessionTimeoutMs = SESSION_TIMEOUT_MS }) {
  function anonymousId() {
    let id = store.get("aid");
    if (typeof id !== "string" || !id) {
      id = uuidv7(now());
      store.set("aid", id);
    }
    return id;
  }

  function sessionId() {
    const t = now();
    const s = store.get("sid");
    const fresh = s && typeof s.id === "string" && t - s.last < sessionTimeoutMs;
    const next = fresh ? { ...s, last: t } : { id: uuidv7(t), start: t, last: t };
    store.set("sid", next);
    return next.id;
  }

  return {
    anonymousId,
    sessionId,
    userId: () => store.get("uid") || undefined,
    setUserId: (id) => store.set("uid", id),
    reset() {
      store.remove("uid");
      store.remove("sid");
      store.remove("aid");
    },
  };
}
