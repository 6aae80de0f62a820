// A campaign's page: filters, KPI cards, funnel, devices, new vs returning, timeline, activities.
// Built once per view; each live update only rewrites numbers, table rows and chart data.
import { streamMetrics } from "../api.js";
import {
  deviceChart,
  funnelChart,
  newVsReturningChart,
  timelineChart,
  updateDeviceChart,
  updateFunnelChart,
  updateNewVsReturningChart,
  updateTimelineChart,
} from "../charts.js";
import { h, replaceChildren, setMetric } from "../dom.js";
import { fmt, toLocalInput } from "../format.js";
import { activityRows, ACTIVITY_HEADERS } from "./activities.js";
import { filterBar } from "./filters.js";
import { cohortsPanel, moneySection, setTrends, trendBadge } from "./money.js";

// Each stage counts the visitors who did its action in the view (see docs/dashboard.md).
export const FUNNEL_LABELS = {
  visited: "Viewed a page",
  clicked: "Clicked",
  entered_or_purchased: "Entered or purchased",
};

// [metric name, label, value of the API body, formatter]
export const KPIS = [
  ["visits", "Visits", (b) => b.totals.visits, fmt.count],
  ["unique_visitors", "Unique visitors", (b) => b.totals.unique_visitors, fmt.count],
  ["clicks", "Clicks", (b) => b.totals.clicks, fmt.count],
  ["click_rate", "Click rate", (b) => b.totals.click_rate, fmt.rate],
  ["purchases", "Purchases", (b) => b.totals.purchases, fmt.count],
  ["conversion_rate", "Conversion", (b) => b.totals.conversion_rate, fmt.rate],
  ["entries", "Entries (in view)", (b) => b.totals.entries, fmt.count],
  ["filled", "Entries / capacity", (b) => [b.totals.confirmed_entries, b.totals.capacity], fmt.fill],
  ["fill_rate", "Fill rate", (b) => b.totals.fill_rate, fmt.rate],
  ["time_to_sell_out", "Time to sell out", (b) => b.totals.time_to_sell_out_seconds, fmt.duration],
];

function panel(title, ...children) {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

function chartBox(testid, label, className = "chart") {
  const canvas = h("canvas", { "data-testid": testid, role: "img", "aria-label": label });
  return [h("div", { class: className }, canvas), canvas];
}

function table(headers, body, testid) {
  const head = h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t))));
  return h("table", { class: "table", "data-testid": testid }, head, body);
}

/** A right-aligned number cell; `data-metric` names it for live updates and tests. */
const numberCell = (metric, text) => h("td", { class: "num", "data-metric": metric }, text);

// KPIs of KPIS that have a trend in the API's `trends` (the others have no previous period).
const TRENDED = new Set(["visits", "unique_visitors", "clicks", "click_rate", "purchases", "conversion_rate", "entries"]);

function kpiCard([name, label]) {
  return h(
    "div",
    { class: "kpi" },
    h("span", { class: "kpi-label" }, label),
    h("span", { class: "kpi-value", "data-metric": `totals.${name}` }, "…"),
    TRENDED.has(name) ? trendBadge(name) : null,
  );
}

function funnelRow(stage) {
  return h(
    "tr",
    { dataset: { stage: stage.stage } },
    h("td", {}, FUNNEL_LABELS[stage.stage] ?? stage.stage),
    numberCell("visitors", fmt.count(stage.visitors)),
    numberCell("rate_from_previous", fmt.rate(stage.rate_from_previous)),
  );
}

function deviceRow(device) {
  return h(
    "tr",
    { dataset: { device: device.device_type } },
    h("td", {}, device.device_type),
    numberCell("unique_visitors", fmt.count(device.unique_visitors)),
    numberCell("events", fmt.count(device.events)),
  );
}

function newVsReturningList() {
  return h(
    "dl",
    { class: "pairs" },
    h("dt", {}, "New visitors"),
    h("dd", { "data-metric": "new_vs_returning.new" }, "…"),
    h("dt", {}, "Returning visitors"),
    h("dd", { "data-metric": "new_vs_returning.returning" }, "…"),
  );
}

const STATE_TEXT = { reconnecting: "Reconnecting…", closed: "Disconnected" };

export function renderCampaign(root, campaignId, filters, { onFilters, onClosed }) {
  const status = h(
    "span",
    { class: "live", "data-testid": "live-status", "data-state": "connecting" },
    "Connecting…",
  );
  const title = h("h1", { "data-testid": "campaign-name" }, "Campaign");
  const subtitle = h("p", { class: "muted", "data-testid": "campaign-range" });
  // Unique visitors from sketches (the full stack's rollups) are estimates: said so, with the bound.
  const approxNote = h("p", { class: "muted", "data-testid": "approximate-note", hidden: true });
  const filterForm = filterBar(filters, onFilters);
  const kpis = h("div", { class: "kpis" }, KPIS.map(kpiCard));
  const [funnelBox, funnelCanvas] = chartBox("funnel-chart", "Visitors per funnel stage");
  const funnelTable = h("tbody");
  const [deviceBox, deviceCanvas] = chartBox("device-chart", "Visitors per device type");
  const deviceTable = h("tbody");
  const [nvrBox, nvrCanvas] = chartBox("new-vs-returning-chart", "New and returning visitors");
  const [timelineBox, timelineCanvas] = chartBox(
    "timeline-chart",
    "Visits, clicks, purchases and entries over time",
    "chart chart-wide",
  );
  const activityBody = h("tbody", { "data-testid": "activity-rows" });
  const back = h("a", { href: "#/" }, "← Campaigns");
  const overviewLink = h("a", { href: "#/", "data-testid": "overview-link", class: "overview-link" }, "Site overview →");
  const money = moneySection();
  const cohorts = cohortsPanel(campaignId);

  replaceChildren(
    root,
    h("div", { class: "page-head" }, h("div", {}, back, " · ", overviewLink, title, subtitle), status),
    filterForm.element,
    money.element,
    h("h2", {}, "Traffic · arrows compare with the same-length period just before"),
    approxNote,
    kpis,
    h(
      "div",
      { class: "grid" },
      panel("Funnel", funnelBox, table(["Stage", "Visitors", "Step"], funnelTable, "funnel-table")),
      panel("Devices", deviceBox, table(["Device", "Visitors", "Events"], deviceTable, "device-table")),
      panel("New vs returning", nvrBox, newVsReturningList()),
    ),
    panel("Timeline", timelineBox),
    panel(
      "Activities",
      h("div", { class: "scroll" }, table(ACTIVITY_HEADERS, activityBody, "activity-table")),
    ),
    cohorts.element,
  );

  const charts = {
    funnel: funnelChart(funnelCanvas),
    devices: deviceChart(deviceCanvas),
    newVsReturning: newVsReturningChart(nvrCanvas),
    timeline: timelineChart(timelineCanvas),
  };

  function update(body) {
    const { campaign, range } = body;
    title.textContent = campaign.name;
    subtitle.textContent = `${campaign.status} · ${fmt.dateTime(range.from)} – ${fmt.dateTime(range.to)}`;
    overviewLink.setAttribute("href", `#/sites/${campaign.site_id}/overview`);
    for (const [name, , value, format] of KPIS) {
      setMetric(kpis, `totals.${name}`, format(value(body)));
    }
    const approx = (body.approximations || {})["totals.unique_visitors"];
    approxNote.hidden = !approx;
    approxNote.textContent = approx
      ? `≈ Unique visitors, and the rates and funnel made of them, are estimates within ±${(approx.relative_error * 100).toFixed(1)} %.`
      : "";
    if (approx) setMetric(kpis, "totals.unique_visitors", `≈ ${fmt.count(body.totals.unique_visitors)}`);
    money.update(body);
    setTrends(root, body.trends);
    replaceChildren(funnelTable, body.funnel.map(funnelRow));
    replaceChildren(deviceTable, body.devices.map(deviceRow));
    const split = body.new_vs_returning;
    setMetric(root, "new_vs_returning.new", fmt.count(split.new.visitors));
    setMetric(root, "new_vs_returning.returning", fmt.count(split.returning.visitors));
    replaceChildren(activityBody, activityRows(body.activities));
    filterForm.setActivities(body.activities);
    filterForm.setRange(toLocalInput(range.from), toLocalInput(range.to));
    updateFunnelChart(charts.funnel, body.funnel, FUNNEL_LABELS);
    updateDeviceChart(charts.devices, body.devices);
    updateNewVsReturningChart(charts.newVsReturning, split);
    updateTimelineChart(charts.timeline, body.timeline, range.interval_seconds);
  }

  function setState(state) {
    status.dataset.state = state;
    const time = new Date().toLocaleTimeString();
    status.textContent = state === "live" ? `Live · updated ${time}` : STATE_TEXT[state];
  }

  const close = streamMetrics(campaignId, filters, {
    onMetrics: update,
    onState: (state) => {
      setState(state);
      if (state === "closed") onClosed();
    },
  });
  return () => {
    close();
    for (const chart of Object.values(charts)) chart.destroy();
  };
}
