// The view's filters: time range, activity, device type, new vs returning.
import { h } from "../dom.js";

const DEVICES = ["mobile", "desktop", "tablet", "bot", "other"];

function select(name, label, options, value) {
  const el = h(
    "select",
    { name, id: `filter-${name}` },
    options.map(([v, text]) => h("option", { value: v, selected: v === (value ?? "") }, text)),
  );
  return [h("label", { for: `filter-${name}` }, label), el];
}

function dateInput(name, label) {
  const input = h("input", { id: `filter-${name}`, name, type: "datetime-local" });
  return [h("label", { for: `filter-${name}` }, label), input];
}

/** `filters` are the current query parameters; `onChange(next)` gets the new ones. */
export function filterBar(filters, onChange) {
  const [fromLabel, from] = dateInput("from", "From");
  const [toLabel, to] = dateInput("to", "To");
  const [activityLabel, activity] = select(
    "activity_id",
    "Activity",
    [["", "All activities"]],
    filters.activity_id,
  );
  const [deviceLabel, device] = select(
    "device_type",
    "Device",
    [["", "All devices"], ...DEVICES.map((d) => [d, d])],
    filters.device_type,
  );
  const [newLabel, newUser] = select(
    "new_user",
    "Visitors",
    [["", "New and returning"], ["true", "New"], ["false", "Returning"]],
    filters.new_user,
  );
  const reset = h("button", { type: "button", class: "link-button" }, "Reset");
  const parts = [fromLabel, from, toLabel, to, activityLabel, activity];
  parts.push(deviceLabel, device, newLabel, newUser, reset);
  const form = h(
    "form",
    { class: "filters card", "data-testid": "filters" },
    parts.map((el) => (el.tagName === "LABEL" ? el : h("span", { class: "field" }, el))),
  );

  function current() {
    const next = {};
    // A range typed by hand is kept; the default one follows "now" on the server.
    if (from.dataset.edited && from.value) next.from = new Date(from.value).toISOString();
    if (to.dataset.edited && to.value) next.to = new Date(to.value).toISOString();
    for (const el of [activity, device, newUser]) if (el.value) next[el.name] = el.value;
    return next;
  }
  for (const el of [from, to]) {
    if (filters[el.name]) el.dataset.edited = "1";
    el.addEventListener("change", () => {
      el.dataset.edited = "1";
      onChange(current());
    });
  }
  for (const el of [activity, device, newUser]) el.addEventListener("change", () => onChange(current()));
  reset.addEventListener("click", () => onChange({}));

  return {
    element: form,
    setActivities(activities) {
      const want = activities.map((a) => a.activity_id).join(",");
      if (activity.dataset.ids === want) return;
      activity.dataset.ids = want;
      const option = (a) =>
        h("option", { value: a.activity_id, selected: a.activity_id === filters.activity_id }, a.name);
      activity.replaceChildren(
        h("option", { value: "" }, "All activities"),
        ...activities.map(option),
      );
    },
    setRange(fromValue, toValue) {
      if (document.activeElement !== from) from.value = fromValue;
      if (document.activeElement !== to) to.value = toValue;
    },
  };
}
