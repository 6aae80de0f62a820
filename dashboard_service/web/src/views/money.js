// Money on the campaign page: cards with trend arrows against the previous period, and the
// cohort triangle (docs/metrics.md defines every figure).
import { getCohorts } from "../api.js";
import { h, replaceChildren, setMetric } from "../dom.js";
import { fmt } from "../format.js";

// [KPI name in `money` and `trends`, label, formatter]
export const MONEY_KPIS = [
  ["gmv", "GMV", fmt.money],
  ["orders", "Orders", fmt.count],
  ["aov", "AOV", fmt.money],
  ["spend", "Spend", fmt.money],
  ["roas", "ROAS", fmt.ratio],
  ["cac", "CAC", fmt.money],
  ["cost_per_entry", "Cost per entry", fmt.money],
  ["new_customers", "New customers", fmt.count],
];

const ARROWS = { up: "▲", down: "▼", flat: "■" };

/** "▲ 12.5%" (or "▲ +3" from zero), coloured good or bad by whether higher is better. */
export function trendText(trend) {
  if (!trend || !trend.direction) return "—";
  const arrow = ARROWS[trend.direction];
  if (trend.change === null) return `${arrow} ${trend.delta > 0 ? "+" : ""}${fmt.number(trend.delta)}`;
  return `${arrow} ${fmt.rate(Math.abs(trend.change))}`;
}

export function trendTone(trend) {
  if (!trend || !trend.direction || trend.direction === "flat") return "neutral";
  const rising = trend.direction === "up";
  return rising === trend.higher_is_better ? "good" : "bad";
}

/** The small arrow under a KPI card's value; `name` is the KPI's key in `trends`. */
export function trendBadge(name) {
  return h("span", { class: "trend", "data-trend": name, "data-tone": "neutral" }, "…");
}

export function setTrends(root, trends) {
  for (const el of root.querySelectorAll("[data-trend]")) {
    const trend = trends?.[el.dataset.trend];
    const text = trendText(trend);
    if (el.textContent !== text) el.textContent = text;
    el.dataset.tone = trendTone(trend);
    el.title = trend?.previous === null || trend?.previous === undefined
      ? "no figure for the previous period"
      : `previous period: ${fmt.number(trend.previous)}`;
  }
}

function moneyCard([name, label]) {
  return h(
    "div",
    { class: "kpi" },
    h("span", { class: "kpi-label" }, label),
    h("span", { class: "kpi-value", "data-metric": `money.${name}` }, "…"),
    trendBadge(name),
  );
}

export function moneySection() {
  const currency = h("span", { "data-testid": "money-currency" }, "");
  const budget = h("span", { "data-metric": "money.budget_line" }, "");
  const apart = h("p", { class: "muted", "data-testid": "money-unconverted", hidden: true });
  const cards = h("div", { class: "kpis", "data-testid": "money-cards" }, MONEY_KPIS.map(moneyCard));
  const element = h(
    "section",
    { class: "money" },
    h("h2", {}, "Money (", currency, ") · ", budget),
    cards,
    apart,
  );
  function update(body) {
    const money = body.money;
    if (!money) return;
    currency.textContent = money.currency;
    budget.textContent =
      money.budget === null
        ? "no budget set"
        : `budget ${fmt.money(money.budget)}, ${fmt.rate(money.budget_used)} spent in this view`;
    for (const [name, , format] of MONEY_KPIS) setMetric(cards, `money.${name}`, format(money[name]));
    apart.hidden = money.unconverted.length === 0;
    apart.textContent = money.unconverted.length
      ? `Not counted (no rate to ${money.currency}): ` +
        money.unconverted.map((u) => `${fmt.money(u.amount)} ${u.currency} in ${u.orders} orders`).join(", ")
      : "";
  }
  return { element, update };
}

/** The cohort triangle: rows = week of first purchase, columns = weeks since. */
export function cohortsPanel(campaignId) {
  const body = h("div", { class: "scroll", "data-testid": "cohorts" }, h("p", { class: "muted" }, "Loading…"));
  const element = h(
    "section",
    { class: "card" },
    h("h2", {}, "Cohort LTV: cumulative revenue per customer, by week of first purchase"),
    body,
  );
  async function load() {
    const data = await getCohorts(campaignId, 8);
    if (!data.rows.length) {
      replaceChildren(body, h("p", { class: "muted" }, "No customer acquired by this campaign yet."));
      return;
    }
    const max = Math.max(...data.rows.flatMap((r) => r.cumulative_revenue_per_customer.map(Number)));
    const head = h(
      "tr",
      {},
      h("th", {}, "First purchase week"),
      h("th", {}, "Customers"),
      Array.from({ length: data.weeks }, (_, k) => h("th", { class: "num" }, `Week ${k}`)),
    );
    const rows = data.rows.map((r) =>
      h(
        "tr",
        { dataset: { week: r.week_start } },
        h("td", {}, fmt.date(r.week_start)),
        h("td", { class: "num", "data-metric": "customers" }, fmt.count(r.customers)),
        r.cumulative_revenue_per_customer.map((v, k) =>
          h(
            "td",
            {
              class: v === null ? "num empty" : "num heat",
              "data-week": k,
              style: v === null ? undefined : `--heat:${max ? Number(v) / max : 0}`,
            },
            v === null ? "" : fmt.money(v),
          ),
        ),
      ),
    );
    replaceChildren(
      body,
      h("table", { class: "table cohort", "data-testid": "cohort-table" }, h("thead", {}, head), h("tbody", {}, rows)),
      h("p", { class: "muted" }, `In ${data.currency}. Empty cells: weeks that have not begun yet.`),
    );
  }
  load().catch((err) => replaceChildren(body, h("p", { class: "error" }, err.message)));
  return { element, reload: load };
}
