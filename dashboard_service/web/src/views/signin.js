// Sign-in with a dashboard token: traded once for an HttpOnly session cookie, never stored here.
import { signIn } from "../api.js";
import { h, replaceChildren } from "../dom.js";

export function renderSignIn(root, { onSignedIn }) {
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    autocomplete: "current-password",
    required: true,
    placeholder: "dash_…",
  });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "card signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    h(
      "p",
      { class: "muted" },
      "Use the dashboard token (read-only). `pulse run` prints it; it is also in .pulse/dashboard_token.",
    ),
    h("label", { for: "token" }, "Dashboard token"),
    input,
    button,
    error,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    error.hidden = true;
    try {
      await signIn(input.value.trim());
      onSignedIn();
    } catch (err) {
      error.textContent =
        err.status === 401 ? "That token is not valid for this dashboard." : `Sign-in failed: ${err.message}`;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  replaceChildren(root, form);
  input.focus();
}
