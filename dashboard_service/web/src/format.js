// How numbers read on the page, in the browser's language. The browser tests build the same
// formatters for their pinned locale to compare the page with the API.

const DASH = "—";

export function formatters(locale) {
  const integer = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  const money = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 });
  const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
  const dateOnly = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" });
  const decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
  const missing = (v) => v === null || v === undefined;
  const count = (n) => (missing(n) ? DASH : integer.format(n));
  return {
    count,
    money: (n) => (missing(n) ? DASH : money.format(n)),
    /** ROAS and the like: "2.25×". */
    ratio: (n) => (missing(n) ? DASH : `${decimal.format(n)}×`),
    number: (n) => (missing(n) ? DASH : decimal.format(n)),
    /** A UTC day (cohort weeks start at Monday 00:00 UTC). */
    date: (iso) => (iso ? dateOnly.format(new Date(iso)) : DASH),
    rate: (r) => (missing(r) ? DASH : percent.format(r)),
    dateTime: (iso) => (iso ? dateTime.format(new Date(iso)) : DASH),
    /** 4800 -> "1 h 20 min"; 75 -> "1 min 15 s"; null -> "—". */
    duration(seconds) {
      if (missing(seconds)) return DASH;
      const d = Math.floor(seconds / 86400);
      const h = Math.floor((seconds % 86400) / 3600);
      const m = Math.floor((seconds % 3600) / 60);
      const s = seconds % 60;
      const parts = [];
      if (d) parts.push(`${d} d`);
      if (h) parts.push(`${h} h`);
      if (m && !d) parts.push(`${m} min`);
      if ((s || !parts.length) && !d && !h) parts.push(`${s} s`);
      return parts.join(" ");
    },
    /** "12 / 100", an unlimited capacity as "12 / ∞". */
    fill: ([entries, capacity]) =>
      `${count(entries)} / ${missing(capacity) ? "∞" : count(capacity)}`,
  };
}

export const fmt = formatters(undefined);

/** A bucket label: time of day for minute/hour buckets, the date for day buckets. */
export function bucketLabel(iso, intervalSeconds) {
  const date = new Date(iso);
  if (intervalSeconds >= 86400) return date.toLocaleDateString(undefined, { dateStyle: "medium" });
  return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

/** `<input type=datetime-local>` value of an ISO instant, in the browser's time zone. */
export function toLocalInput(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
