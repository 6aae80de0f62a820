import { cut } from "./text.js";

// The browser signals definitions can ask for: navigations (full loads and SPA history changes),
// clicks and form submissions. Listeners sit on the document in the capture phase, so elements
// added after load count, and a page's own stopPropagation() cannot hide them.
export function watchPage(win, signal) {
  const doc = win.document;
  const history = win.history;
  const navigated = () => signal({ kind: "view" });

  for (const name of ["pushState", "replaceState"]) {
    const original = history[name];
    if (typeof original !== "function") continue;
    history[name] = function patched(...args) {
      const result = original.apply(this, args);
      navigated();
      return result;
    };
  }
  win.addEventListener("popstate", navigated);

  const elementOf = (target) =>
    target && target.nodeType === 1 ? target : target && target.parentElement;
  doc.addEventListener("click", (ev) => signal({ kind: "click", target: elementOf(ev.target) }), true);
  doc.addEventListener("submit", (ev) => signal({ kind: "submit", target: elementOf(ev.target) }), true);
}

// The element a definition's selector matches, from the target outwards; an invalid selector
// (a typo in the dashboard) matches nothing instead of throwing inside the page's handlers.
export function closestFinder(target) {
  return (selector) => {
    try {
      return target && target.closest ? target.closest(selector) : null;
    } catch {
      return null;
    }
  };
}

// What is worth knowing about a clicked element, kept short; form field values are never read.
export function describe(el) {
  const tag = el.tagName.toLowerCase();
  const props = { element: tag + (el.id ? `#${el.id}` : "") };
  // A form's text is its labels and prefilled content: nothing a metric needs.
  const text = tag === "form" ? "" : (el.innerText || el.textContent || "").trim();
  if (text) props.text = cut(text.replace(/\s+/g, " "), 100);
  if (el.href) props.href = cut(String(el.href), 500);
  return props;
}

// The query's campaign parameters, for page views (Segment's context.campaign).
export function campaignParams(url) {
  const out = {};
  try {
    for (const [k, v] of new URL(url).searchParams) {
      if (/^utm_(source|medium|campaign|term|content)$|^(gclid|fbclid|msclkid)$/.test(k)) {
        out[k] = cut(v, 200);
      }
    }
  } catch {
    // not a URL we can read: no parameters
  }
  return out;
}
