// A site's campaigns side by side: top by GMV and by visits, budget against GMV (one request).
import { getOverview } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { fmt } from "../format.js";

const HEADERS = ["Campaign", "Status", "Visits", "Unique visitors", "GMV", "Orders", "Budget", "Spend", "ROAS", "Budget used"];

function bar(value, max, label) {
  const share = max > 0 ? Math.min(1, value / max) : 0;
  return h("div", { class: "bar", title: label }, h("span", { style: `width:${(share * 100).toFixed(1)}%` }));
}

export async function renderOverview(root, siteId) {
  const data = await getOverview(siteId);
  const byId = Object.fromEntries(data.campaigns.map((c) => [c.campaign_id, c]));
  const maxMoney = Math.max(0, ...data.campaigns.flatMap((c) => [Number(c.gmv), Number(c.budget ?? 0)]));
  const link = (c) => h("a", { href: `#/campaigns/${c.campaign_id}` }, c.name);
  // On the full stack unique visitors come from sketches: estimates, marked as the campaign page does.
  const approx = (data.approximations || {})["campaigns.unique_visitors"];
  const visitors = (c) => (approx ? `≈ ${fmt.count(c.unique_visitors)}` : fmt.count(c.unique_visitors));
  const top = (ids, value, testid) =>
    h("ol", { "data-testid": testid }, ids.map((id) => h("li", { dataset: { campaignId: id } }, link(byId[id]), " · ", value(byId[id]))));
  const rows = data.campaigns.map((c) =>
    h(
      "tr",
      { dataset: { campaignId: c.campaign_id } },
      h("td", {}, link(c)),
      h("td", {}, h("span", { class: `badge badge-${c.status}` }, c.status)),
      h("td", { class: "num", "data-metric": "visits" }, fmt.count(c.visits)),
      h("td", { class: "num", "data-metric": "unique_visitors" }, visitors(c)),
      h("td", { class: "num", "data-metric": "gmv" }, fmt.money(c.gmv)),
      h("td", { class: "num", "data-metric": "orders" }, fmt.count(c.orders)),
      h("td", { class: "num", "data-metric": "budget" }, fmt.money(c.budget)),
      h("td", { class: "num", "data-metric": "spend" }, fmt.money(c.spend)),
      h("td", { class: "num", "data-metric": "roas" }, fmt.ratio(c.roas)),
      h("td", { class: "num", "data-metric": "budget_used" }, fmt.rate(c.budget_used)),
    ),
  );
  const budgetVsGmv = data.campaigns.map((c) =>
    h(
      "div",
      { class: "bars", dataset: { campaignId: c.campaign_id } },
      h("span", { class: "bars-label" }, c.name),
      bar(Number(c.budget ?? 0), maxMoney, `budget ${fmt.money(c.budget)}`),
      bar(Number(c.gmv), maxMoney, `GMV ${fmt.money(c.gmv)}`),
    ),
  );
  replaceChildren(
    root,
    h(
      "div",
      { class: "page-head" },
      h(
        "div",
        {},
        h("a", { href: "#/" }, "← Campaigns"),
        h("h1", { "data-testid": "overview-title" }, "Site overview"),
        h("p", { class: "muted" }, `${fmt.dateTime(data.from)} – ${fmt.dateTime(data.to)} · in ${data.currency}`),
        approx
          ? h(
              "p",
              { class: "muted", "data-testid": "overview-approximate-note" },
              `≈ Unique visitors are estimates within ±${(approx.relative_error * 100).toFixed(1)} %.`,
            )
          : null,
      ),
    ),
    h(
      "div",
      { class: "kpis" },
      [["GMV", fmt.money(data.gmv), "gmv"], ["Spend", fmt.money(data.spend), "spend"], ["Budget", fmt.money(data.budget), "budget"]].map(
        ([label, value, name]) =>
          h("div", { class: "kpi" }, h("span", { class: "kpi-label" }, label), h("span", { class: "kpi-value", "data-metric": `overview.${name}` }, value)),
      ),
    ),
    h(
      "div",
      { class: "grid" },
      h("section", { class: "card" }, h("h2", {}, "Top campaigns by GMV"), top(data.top_by_gmv, (c) => fmt.money(c.gmv), "top-gmv")),
      h("section", { class: "card" }, h("h2", {}, "Top campaigns by visits"), top(data.top_by_visits, (c) => fmt.count(c.visits), "top-visits")),
      h(
        "section",
        { class: "card", "data-testid": "budget-vs-gmv" },
        h("h2", {}, "Budget (grey) vs GMV (blue)"),
        budgetVsGmv,
      ),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", {}, "Campaigns"),
      h(
        "div",
        { class: "scroll" },
        h("table", { class: "table", "data-testid": "overview-table" }, h("thead", {}, h("tr", {}, HEADERS.map((t) => h("th", {}, t)))), h("tbody", {}, rows)),
      ),
    ),
  );
}
