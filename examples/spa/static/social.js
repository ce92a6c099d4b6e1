// Social sign-in (OpenID Connect), kept apart from app.js: the login page
// lists the providers Portcullis offers (GET /auth/oidc) as plain links —
// a top-level navigation, not fetch — and handles the way back: an error in
// the query, or the second step of a user with a second factor in the
// fragment (which no server ever sees). It uses app.js's API, $, status and
// afterFirstStep.
import { API, $, status, afterFirstStep } from "./app.js";
const oidcErrors = {
  access_denied: "Sign-in was cancelled at the provider.",
  invalid_state: "That sign-in link expired or was already used. Try again.",
  account_exists: "An account already uses this email. Sign in with your password, then link the provider from your settings.",
  email_not_verified: "The provider has not verified your email address.",
  provider_error: "The provider could not sign you in. Try again.",
  identity_taken: "That provider account is linked to another user.",
};

(async () => {
  const query = new URLSearchParams(location.search);
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (query.has("error") || fragment.has("mfa_token")) {
    history.replaceState(null, "", location.pathname); // the token leaves the address bar
  }
  if (query.get("error")) status(oidcErrors[query.get("error")] || "Sign-in with the provider failed.");
  if (fragment.get("mfa_token")) {
    await afterFirstStep({ mfaRequired: true, mfaToken: fragment.get("mfa_token") });
  }
  const res = await fetch(API + "/auth/oidc", { credentials: "include" }).catch(() => null);
  if (!res || !res.ok) return;
  const { providers } = await res.json();
  const list = $("#providers-list");
  for (const p of providers) {
    const a = document.createElement("a");
    a.id = "provider-" + p.name;
    a.className = "provider";
    a.href = `${API}/auth/oidc/${encodeURIComponent(p.name)}?redirectTo=${encodeURIComponent(location.origin + "/")}`;
    a.textContent = "Sign in with " + p.displayName;
    const li = document.createElement("li");
    li.append(a);
    list.append(li);
  }
  $("#providers").hidden = providers.length === 0;
})();
