// An activity's winners (and every other entry): filter by status, search a user id, page on
// with "More", download the CSV. Filters live in the hash: #/activities/<id>/winners?status=...
import { listEntries } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { fmt } from "../format.js";

const COLUMNS = [
  ["position", "Position", (e) => (e.position == null ? "" : fmt.count(e.position)), "num"],
  ["user_id", "User", (e) => e.user_id],
  ["status", "Status", (e) => e.status],
  ["reason", "Reason", (e) => [e.reason, e.detail].filter(Boolean).join(": ")],
  ["device_type", "Device", (e) => e.device_type],
  ["decided_at", "Decided", (e) => fmt.dateTime(e.decided_at)],
];

function row(entry) {
  return h(
    "tr",
    { dataset: { entryId: entry.entry_id, status: entry.status } },
    COLUMNS.map(([name, , value, cls]) => h("td", { class: cls, "data-field": name }, value(entry))),
  );
}

export async function renderWinners(root, activityId, filters, { onFilters }) {
  const wanted = { status: filters.status ?? "confirmed", user: filters.user ?? "" };
  const query = { ...(wanted.status ? { status: wanted.status } : {}), ...(wanted.user ? { user: wanted.user } : {}) };
  const first = await listEntries(activityId, query);
  const body = h("tbody", {}, first.items.map(row));
  const more = h("button", { class: "link-button", type: "button", "data-testid": "winners-more" }, "More");
  let cursor = first.next_cursor;
  more.hidden = !cursor;
  more.addEventListener("click", async () => {
    const page = await listEntries(activityId, { ...query, cursor });
    body.append(...page.items.map(row));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  });

  const status = h(
    "select",
    { id: "winners-status", "data-testid": "winners-status" },
    h("option", { value: "" }, "every status"),
    first.statuses.map((s) => h("option", { value: s, selected: s === wanted.status }, s)),
  );
  const user = h("input", { id: "winners-user", type: "search", placeholder: "user id", value: wanted.user });
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        onFilters({ status: status.value, user: user.value.trim() });
      },
    },
    h("label", { for: "winners-status" }, "Status"),
    status,
    h("label", { for: "winners-user" }, "User"),
    user,
    h("button", { type: "submit" }, "Show"),
    h(
      "a",
      { href: `v1/activities/${activityId}/entries.csv?${new URLSearchParams(query)}`, "data-testid": "winners-csv", download: "" },
      "Download CSV",
    ),
  );
  status.addEventListener("change", () => form.requestSubmit());

  const table = first.items.length
    ? h(
        "div",
        { class: "scroll" },
        h(
          "table",
          { class: "table", "data-testid": "winners-table" },
          h("thead", {}, h("tr", {}, COLUMNS.map(([, header, , cls]) => h("th", { class: cls }, header)))),
          body,
        ),
      )
    : h("p", { class: "muted", "data-testid": "winners-empty" }, "No entries match.");
  replaceChildren(
    root,
    h(
      "section",
      { class: "card" },
      h("div", { class: "page-head" }, h("div", {}, h("h2", {}, "Winners"), h("h1", {}, first.activity_name))),
      form,
      table,
      more,
    ),
  );
}
