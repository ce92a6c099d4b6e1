// Social sign-in (OpenID Connect), kept apart from app.js: the login page
// lists the providers Portcullis offers (client.listProviders) as plain links
// (client.providerUrl: a top-level navigation, not fetch), and handles the
// way back with client.providerReturn: an error in the query, or the second
// step of a user with a second factor in the fragment (which no server ever
// sees). It uses app.js's client, $, status and afterFirstStep.
import { client, $, status, afterFirstStep } from "./app.js";
const oidcErrors = {
  access_denied: "Sign-in was cancelled at the provider.",
  invalid_state: "That sign-in link expired or was already used. Try again.",
  account_exists: "An account already uses this email. Sign in with your password, then link the provider from your settings.",
  email_not_verified: "The provider has not verified your email address.",
  provider_error: "The provider could not sign you in. Try again.",
  identity_taken: "That provider account is linked to another user.",
};

(async () => {
  const { error, mfa } = client.providerReturn();
  if (error) status(oidcErrors[error] || "Sign-in with the provider failed.");
  if (mfa) await afterFirstStep(mfa);
  const providers = await client.listProviders().catch(() => []);
  const list = $("#providers-list");
  for (const p of providers) {
    const a = document.createElement("a");
    a.id = "provider-" + p.name;
    a.className = "provider";
    a.href = client.providerUrl(p.name, { redirectTo: location.origin + "/" });
    a.textContent = "Sign in with " + p.displayName;
    const li = document.createElement("li");
    li.append(a);
    list.append(li);
  }
  $("#providers").hidden = providers.length === 0;
})();
