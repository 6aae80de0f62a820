// The per-activity table: traffic in the view, entries against capacity over every entry.
import { h } from "../dom.js";
import { fmt } from "../format.js";

// [metric name, header, value of an activity row, formatter]
export const ACTIVITY_COLUMNS = [
  ["visits", "Visits", (a) => a.visits, fmt.count],
  ["unique_visitors", "Unique", (a) => a.unique_visitors, fmt.count],
  ["clicks", "Clicks", (a) => a.clicks, fmt.count],
  ["click_rate", "Click rate", (a) => a.click_rate, fmt.rate],
  ["purchases", "Purchases", (a) => a.purchases, fmt.count],
  ["gmv", "GMV", (a) => a.gmv, fmt.money],
  ["conversion_rate", "Conversion", (a) => a.conversion_rate, fmt.rate],
  ["entries", "Entries (view)", (a) => a.entries, fmt.count],
  ["filled", "Entries / capacity", (a) => [a.confirmed_entries, a.capacity], fmt.fill],
  ["fill_rate", "Fill rate", (a) => a.fill_rate, fmt.rate],
  ["time_to_sell_out", "Sold out after", (a) => a.time_to_sell_out_seconds, fmt.duration],
];
export const ACTIVITY_HEADERS = ["Activity", "Type", ...ACTIVITY_COLUMNS.map(([, header]) => header)];

export function activityRows(activities) {
  return activities.map((a) =>
    h(
      "tr",
      { dataset: { activityId: a.activity_id }, class: a.sold_out ? "sold-out" : undefined },
      h(
        "td",
        {},
        a.name,
        a.sold_out ? h("span", { class: "badge badge-sold-out" }, "sold out") : null,
        " ",
        h("a", { href: `#/activities/${a.activity_id}/winners`, class: "winners-link" }, "winners"),
      ),
      h("td", {}, a.type),
      ACTIVITY_COLUMNS.map(([name, , value, format]) =>
        h("td", { class: "num", "data-metric": name }, format(value(a))),
      ),
    ),
  );
}
