// The dashboard UI: a hash router over sign-in, the campaign list and a campaign's page.
//   #/                      campaigns
//   #/campaigns/<id>?...    a campaign, with its filters as query parameters
//   #/activities/<id>/winners?status=&user=   an activity's entries
import "./styles.css";
import { ApiError, getMetrics, signOut } from "./api.js";
import { h, replaceChildren } from "./dom.js";
import { renderCampaign } from "./views/campaign.js";
import { renderCampaignList } from "./views/campaigns.js";
import { renderOverview } from "./views/overview.js";
import { renderSignIn } from "./views/signin.js";
import { renderWinners } from "./views/winners.js";

const root = document.getElementById("app");
const signOutButton = document.getElementById("sign-out");
let closeView = () => {};

function parseHash() {
  const [path, query = ""] = location.hash.replace(/^#/, "").split("?");
  return { path: path || "/", filters: Object.fromEntries(new URLSearchParams(query)) };
}

function showSignIn() {
  signOutButton.hidden = true;
  renderSignIn(root, { onSignedIn: route });
}

function showError(err) {
  if (err instanceof ApiError && err.status === 401) return showSignIn();
  replaceChildren(
    root,
    h(
      "section",
      { class: "card" },
      h("h1", {}, "Something went wrong"),
      h("p", { class: "error", role: "alert" }, err.message),
      h("a", { href: "#/" }, "Back to the campaigns"),
    ),
  );
}

async function route() {
  closeView();
  closeView = () => {};
  const { path, filters } = parseHash();
  const match = path.match(/^\/campaigns\/([0-9a-fA-F-]{36})$/);
  const site = path.match(/^\/sites\/([0-9a-fA-F-]{36})\/overview$/);
  const winners = path.match(/^\/activities\/([0-9a-fA-F-]{36})\/winners$/);
  try {
    if (winners) {
      signOutButton.hidden = false;
      const id = winners[1];
      await renderWinners(root, id, filters, {
        onFilters: (next) => {
          const query = new URLSearchParams(Object.entries(next).filter(([, v]) => v !== "")).toString();
          location.hash = `#/activities/${id}/winners${query ? `?${query}` : "?status="}`;
        },
      });
    } else if (site) {
      signOutButton.hidden = false;
      await renderOverview(root, site[1]);
    } else if (match) {
      signOutButton.hidden = false;
      const id = match[1];
      closeView = renderCampaign(root, id, filters, {
        onFilters: (next) => {
          const query = new URLSearchParams(next).toString();
          location.hash = `#/campaigns/${id}${query ? `?${query}` : ""}`;
        },
        // The stream was refused: ask the API why (401 -> sign in, 404 -> message, 503 -> retry).
        onClosed: () =>
          getMetrics(id, filters).then(
            () => setTimeout(() => parseHash().path === path && route(), 5000),
            showError,
          ),
      });
    } else {
      await renderCampaignList(root);
      signOutButton.hidden = false;
    }
  } catch (err) {
    showError(err);
  }
}

signOutButton.addEventListener("click", async () => {
  closeView();
  await signOut();
  showSignIn();
});
window.addEventListener("hashchange", route);
route();
