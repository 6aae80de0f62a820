// Which definitions an occurrence belongs to. URL globs follow the server's rule exactly
// (core_service/domain/validation.py url_matches): `*` is any run of characters, `/` included;
// a pattern with a scheme matches the whole URL, any other pattern only its path.
const compiled = new Map();
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

// Like Python's urlsplit(url).path: no normalisation, so both sides see the same string.
export function pathOf(url) {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i.exec(url);
  return m ? m[1] || "/" : url;
}

export function urlMatches(pattern, url) {
  if (pattern == null) return true;
  const target = /^https?:\/\//.test(pattern) || !url.includes("://") ? url : pathOf(url);
  let re = compiled.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split("*").map(escapeRe).join(".*")}$`);
    compiled.set(pattern, re);
  }
  return re.test(target);
}

const ofType = (defs, type, url) =>
  defs.filter((d) => d.trigger && d.trigger.type === type && urlMatches(d.trigger.url_pattern, url));

export function pageViews(defs, url) {
  return ofType(defs, "page_view", url);
}

// `closest(selector)` finds the element a selector matches from the event target outwards; it
// returns null (never throws) for selectors the browser cannot parse.
export function elementHits(defs, type, url, closest) {
  const hits = [];
  for (const def of ofType(defs, type, url)) {
    const el = def.trigger.selector ? closest(def.trigger.selector) : null;
    if (el) hits.push({ def, el });
  }
  return hits;
}

// A purchase is one occurrence whatever the number of purchase definitions, or the user's
// purchase count and total would be multiplied. It goes to the most specific definition for
// the page (the longest URL pattern), else to the activity the visitor touched last in this
// session (last-touch attribution), else to the first one; without any it is sent unattributed.
export function purchaseDefinition(defs, url, lastActivityId) {
  const candidates = ofType(defs, "purchase", url);
  if (!candidates.length) return null;
  const scoped = candidates.filter((d) => d.trigger.url_pattern);
  if (scoped.length) {
    return scoped.reduce((a, b) => (b.trigger.url_pattern.length > a.trigger.url_pattern.length ? b : a));
  }
  return candidates.find((d) => lastActivityId && d.activity_id === lastActivityId) || candidates[0];
}

// track(name): the custom definitions of that name that apply on this page. `named` tells a
// name no definition knows (sent unattributed: it still counts for the user) from one whose
// definitions do not apply here (not sent: the marketing team scoped it to other pages, or the
// name belongs to another trigger type, which the server would refuse).
export function customDefinitions(defs, name, url) {
  const named = defs.filter((d) => d.name === name);
  return { named: named.length > 0, hits: ofType(named, "custom", url) };
}
