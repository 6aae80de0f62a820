// The tracker a page gets from pulse('init', …): wires storage, consent, identity, the queue and
// delivery together, and turns browser signals and API calls into occurrences of the site's
// definitions. Signals that arrive before the definitions are kept and matched once they load.
import { backoffDelay } from "./backoff.js";
import { byteLength } from "./batch.js";
import { createConsent, DENIED, GRANTED } from "./consent.js";
import { loadDefinitions } from "./definitions.js";
import { createDelivery, DELIVERY } from "./delivery.js";
import { createEntries } from "./entries.js";
import { createIdentity, SESSION_TIMEOUT_MS } from "./identity.js";
import { uuidv7 } from "./ids.js";
import { createLog } from "./log.js";
import { customDefinitions, elementHits, pageViews, purchaseDefinition } from "./matcher.js";
import { createQueue } from "./queue.js";
import { createStore, safeLocalStorage } from "./storage.js";
import { campaignParams, closestFinder, describe, watchPage } from "./triggers.js";
import { cut } from "./text.js";
import { createTransport } from "./transport.js";

const MAX_EVENT_BYTES = 32 * 1024; // the server's per-event limit: bigger ones would never go
const MAX_WAITING_SIGNALS = 200;

const originOf = (url) => {
  try {
    return new URL(url).origin;
  } catch {
    return "";
  }
};
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function purchaseProps(p) {
  if (!isObject(p)) return null;
  const amount = Number(p.amount);
  const currency = typeof p.currency === "string" ? p.currency.toUpperCase() : "";
  const orderId = p.order_id == null ? "" : String(p.order_id);
  if (!orderId || !(amount >= 0) || !/^[A-Z]{3}$/.test(currency)) return null;
  const props = { ...p, order_id: orderId, amount, currency };
  if (p.items !== undefined && !Array.isArray(p.items)) delete props.items;
  return props;
}

export function createTracker(win, scriptSrc) {
  const log = createLog();
  const early = [];
  let api = null;

  const attempt = (fn) => {
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err);
    }
  };

  function call(method, args) {
    if (method === "debug") {
      log.on = args[0] !== false;
      return Promise.resolve();
    }
    if (method === "init") return attempt(() => init(args[0] || {}));
    if (!api) return new Promise((resolve, reject) => early.push([method, args, resolve, reject]));
    const fn = api[method];
    if (typeof fn !== "function") {
      log.error(`unknown method "${method}"`);
      return Promise.resolve();
    }
    return attempt(() => fn(...args));
  }

  function init(options) {
    if (api) return log.debug("init called again; the first one stands");
    if (options.debug) log.on = true;
    const siteKey = options.siteKey;
    if (typeof siteKey !== "string" || !siteKey) return log.error("init needs {siteKey}");
    const endpoint = String(options.endpoint || originOf(scriptSrc) || win.location.origin).replace(
      /\/+$/,
      "",
    );
    const nav = win.navigator;
    const doc = win.document;
    const fetch = (...a) => win.fetch(...a);
    const backing = safeLocalStorage(win);
    const consent = createConsent({
      required: !!options.requireConsent,
      honorDnt: !!options.honorDnt,
      nav,
      win,
      backing,
    });
    const store = createStore({ backing, allowed: consent.state() === GRANTED, log });
    const identity = createIdentity({
      store,
      sessionTimeoutMs: options.sessionTimeout ?? SESSION_TIMEOUT_MS,
    });
    const queue = createQueue({ store, key: `q_${siteKey}`, log });
    const transport = createTransport({
      url: endpoint + (options.collectPath || "/v1/events"),
      fetch,
      beacon: nav.sendBeacon ? (url, data) => nav.sendBeacon(url, data) : null,
      keepaliveSupported: !!win.Request && "keepalive" in win.Request.prototype,
      log,
    });
    const delivery = createDelivery({
      queue,
      transport,
      siteKey,
      options: {
        ...DELIVERY,
        ...(options.flushAt > 0 && { flushAt: options.flushAt }),
        ...(options.flushInterval >= 0 && { flushInterval: options.flushInterval }),
      },
      timers: win,
      online: () => nav.onLine !== false,
      log,
    });
    const enter = createEntries({
      endpoint,
      siteKey,
      fetch,
      anonymousId: identity.anonymousId,
      userId: identity.userId,
      log,
    });

    if (consent.state() !== GRANTED) delivery.pause();
    consent.onChange((state) => {
      if (state === GRANTED) {
        store.allow(true);
        delivery.resume();
        return;
      }
      // Withdrawn: what waits is never sent, and what Pulse stored is wiped.
      delivery.pause();
      queue.clear();
      store.allow(false);
    });

    let definitions = null;
    const waiting = [];
    let lastView = null;

    function emit(sig, def, type, properties, name) {
      const event = {
        event_id: uuidv7(sig.at),
        type,
        occurred_at: new Date(sig.at).toISOString(),
        anonymous_id: identity.anonymousId(),
        session_id: identity.sessionId(),
        url: cut(sig.url, 2048),
        properties,
      };
      if (def) event.definition_id = def.id;
      else event.name = name;
      if (sig.userId) event.user_id = sig.userId;
      if (sig.referrer) event.referrer = cut(sig.referrer, 2048);
      if (byteLength(JSON.stringify(event)) > MAX_EVENT_BYTES) {
        return log.error(`"${name || def.name}" is over 32 KB and was not sent`);
      }
      if (def && def.activity_id && type !== "purchase") {
        store.set("touch", { sid: event.session_id, activity: def.activity_id });
      }
      log.debug(type, def ? def.name : name, event);
      delivery.add(event);
    }

    function lastTouchedActivity() {
      const touch = store.get("touch");
      return touch && touch.sid === identity.sessionId() ? touch.activity : null;
    }

    function handle(sig) {
      const defs = definitions;
      if (sig.kind === "view") {
        const props = { title: sig.title, ...campaignParams(sig.url) };
        for (const def of pageViews(defs, sig.url)) emit(sig, def, "page_view", props);
      } else if (sig.kind === "click" || sig.kind === "submit") {
        const type = sig.kind === "click" ? "click" : "form_submit";
        for (const hit of elementHits(defs, type, sig.url, closestFinder(sig.target))) {
          emit(sig, hit.def, type, describe(hit.el));
        }
      } else if (sig.kind === "purchase") {
        const def = purchaseDefinition(defs, sig.url, lastTouchedActivity());
        emit(sig, def, "purchase", sig.props, "purchase");
      } else if (sig.kind === "track") {
        const { named, hits } = customDefinitions(defs, sig.name, sig.url);
        for (const def of hits) emit(sig, def, "custom", sig.props);
        if (!named) emit(sig, null, "custom", sig.props, sig.name);
        else if (!hits.length) log.debug(`"${sig.name}" has no custom definition for this page`);
      } else if (sig.kind === "identify") {
        emit(sig, null, "custom", { traits: sig.traits }, "identify");
      }
    }

    function signal(sig) {
      if (consent.state() === DENIED) return;
      sig.at = Date.now();
      sig.url = win.location.href;
      sig.userId = identity.userId();
      if (sig.kind === "view") {
        // Routers call replaceState for scroll positions and the like: same URL, no new view.
        const page = sig.url.split("#")[0];
        if (page === lastView) return;
        sig.referrer = lastView || doc.referrer;
        sig.title = cut(String(doc.title || ""), 200);
        lastView = page;
      }
      if (definitions) handle(sig);
      else if (waiting.length < MAX_WAITING_SIGNALS) waiting.push(sig);
    }

    let definitionFailures = 0;
    function fetchDefinitions() {
      loadDefinitions({ endpoint, siteKey, fetch, store, log }).then(
        (result) => {
          definitions = result.definitions;
          for (const sig of waiting.splice(0)) handle(sig);
        },
        (err) => {
          const delay = backoffDelay(definitionFailures++);
          log.debug(`definitions unavailable (${err && err.message}); retrying in ${delay} ms`);
          win.setTimeout(fetchDefinitions, delay);
        },
      );
    }

    api = {
      identify(userId, traits) {
        if (typeof userId !== "string" || !userId || userId.length > 128) {
          return log.error("identify needs a user id of 1 to 128 characters");
        }
        if (consent.state() === DENIED) return;
        identity.setUserId(userId);
        if (isObject(traits) && Object.keys(traits).length) signal({ kind: "identify", traits });
      },
      track(name, props) {
        if (typeof name !== "string" || !name || name.length > 200) {
          return log.error("track needs an event name of 1 to 200 characters");
        }
        signal({ kind: "track", name, props: isObject(props) ? props : {} });
      },
      purchase(p) {
        const props = purchaseProps(p);
        if (!props) return log.error("purchase needs {order_id, amount >= 0, currency: 'EUR'}");
        signal({ kind: "purchase", props });
      },
      page: () => signal({ kind: "view" }),
      enter: (activityId, opts) => enter(activityId, opts || {}),
      consent(granted) {
        if (!consent.set(!!granted)) log.debug("Do-Not-Track is on and honoured: consent ignored");
        return consent.state();
      },
      reset: () => identity.reset(),
      anonymousId: () => identity.anonymousId(),
      flush: () => delivery.flush(),
    };

    win.addEventListener("pagehide", () => delivery.flushOnExit());
    doc.addEventListener("visibilitychange", () => {
      if (doc.visibilityState === "hidden") delivery.flushOnExit();
    });
    win.addEventListener("online", () => {
      delivery.wake();
      if (!definitions) fetchDefinitions();
    });
    watchPage(win, signal);
    // After the calls the stub recorded (replayed right after init, in this same task), so
    // the landing page view already carries an identify()'d user id.
    queueMicrotask(() => signal({ kind: "view" }));
    fetchDefinitions();
    delivery.flush(); // what earlier pages left in the queue
    log.debug(`ready: site ${siteKey}, endpoint ${endpoint}, consent ${consent.state()}`);
    for (const [method, args, resolve, reject] of early.splice(0)) {
      call(method, args).then(resolve, reject);
    }
  }

  return { call };
}
