// The dashboard API, same origin. The session cookie (HttpOnly) rides along by itself.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function request(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const error = data?.error ?? {};
    throw new ApiError(res.status, error.code ?? "http_error", error.message ?? res.statusText);
  }
  return data;
}

export const signIn = (token) => request("POST", "v1/session", { token });
export const signOut = () => request("DELETE", "v1/session");
export const listCampaigns = (cursor) =>
  request("GET", `v1/campaigns?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
export const getMetrics = (id, filters) =>
  request("GET", `v1/campaigns/${encodeURIComponent(id)}/metrics?${new URLSearchParams(filters)}`);

/**
 * Live metrics over server-sent events. `onMetrics(body)` gets every update (the first one is the
 * view as it is now); `onState("live" | "reconnecting" | "closed")` follows the connection.
 * Returns a function that closes the stream.
 */
export function streamMetrics(id, filters, { onMetrics, onState }) {
  const url = `v1/campaigns/${encodeURIComponent(id)}/stream?${new URLSearchParams(filters)}`;
  const source = new EventSource(url);
  source.addEventListener("metrics", (event) => {
    onState("live");
    onMetrics(JSON.parse(event.data));
  });
  source.addEventListener("error", () => {
    // CONNECTING: the browser retries by itself. CLOSED: the server refused (401, 404, 503).
    onState(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
  });
  return () => source.close();
}
export const getCohorts = (id, weeks = 12) =>
  request("GET", `v1/campaigns/${encodeURIComponent(id)}/cohorts?weeks=${weeks}`);
export const getOverview = (siteId, filters = {}) =>
  request("GET", `v1/sites/${encodeURIComponent(siteId)}/overview?${new URLSearchParams(filters)}`);
export const listEntries = (activityId, query = {}) =>
  request("GET", `v1/activities/${encodeURIComponent(activityId)}/entries?${new URLSearchParams({ limit: 100, ...query })}`);
