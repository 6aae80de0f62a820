// The campaign list: every campaign a reader can open, newest first.
import { listCampaigns } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { fmt } from "../format.js";

export async function renderCampaignList(root) {
  const rows = [];
  let cursor = null;
  do {
    const page = await listCampaigns(cursor);
    rows.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && rows.length < 1000);

  const body = rows.length
    ? h(
        "table",
        { class: "table", "data-testid": "campaign-list" },
        h(
          "thead",
          {},
          h("tr", {}, ["Campaign", "Status", "Starts", "Ends", "Activities", "Site"].map((t) => h("th", {}, t))),
        ),
        h(
          "tbody",
          {},
          rows.map((c) =>
            h(
              "tr",
              { dataset: { campaignId: c.id } },
              h("td", {}, h("a", { href: `#/campaigns/${c.id}` }, c.name)),
              h("td", {}, h("span", { class: `badge badge-${c.status}` }, c.status)),
              h("td", {}, fmt.dateTime(c.starts_at)),
              h("td", {}, fmt.dateTime(c.ends_at)),
              h("td", { class: "num" }, fmt.count(c.activity_count)),
              h("td", {}, h("a", { href: `#/sites/${c.site_id}/overview` }, "overview")),
            ),
          ),
        ),
      )
    : h("p", { class: "muted" }, "No campaigns yet. Create one with the admin API (see the README).");
  replaceChildren(root, h("section", { class: "card" }, h("h1", {}, "Campaigns"), body));
}
