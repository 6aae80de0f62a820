// The site's active event definitions. The browser's HTTP cache keeps them with their ETag
// (max-age from the server, then If-None-Match → 304), which also works cross-origin where
// scripts cannot read the ETag header; a stored copy covers start-up while offline.
export async function loadDefinitions({ endpoint, siteKey, fetch, store, log }) {
  const key = `defs_${siteKey}`;
  const url = `${endpoint}/v1/sites/${encodeURIComponent(siteKey)}/definitions`;
  const fallback = (err) => {
    const cached = store.get(key);
    if (Array.isArray(cached)) return { definitions: cached, stale: true };
    throw err;
  };
  let res;
  try {
    res = await fetch(url, { credentials: "omit" });
  } catch (err) {
    return fallback(err);
  }
  if (res.status === 429 || res.status >= 500) return fallback(new Error(`HTTP ${res.status}`));
  if (!res.ok) {
    // Unknown or deactivated site key: track nothing rather than guess.
    log?.error(`definitions for ${siteKey}: HTTP ${res.status}`);
    return { definitions: [], failed: res.status };
  }
  const body = await res.json();
  const definitions = Array.isArray(body.definitions) ? body.definitions : [];
  store.set(key, definitions);
  log?.debug(`${definitions.length} definitions`, definitions);
  return { definitions };
}
