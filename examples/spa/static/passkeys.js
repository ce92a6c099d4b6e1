// Passkeys in the example SPA: the part to copy. @portcullis/client does the
// WebAuthn ceremonies (options with a flowId, navigator.credentials, the
// answer; base64url ⇄ ArrayBuffer inside): the page only says when.
// It uses app.js's client, $, status, attempt and afterFirstStep.
import { client, $, status, attempt, afterFirstStep } from "./app.js";

// A cancelled or refused browser prompt is a DOMException, not a PortcullisError.
const passkey = (call, what) =>
  attempt(() => call().catch((e) => (e instanceof DOMException ? status(`${what} (${e.name}).`) : Promise.reject(e))));

// The page: a sign-in button, and the signed-in user's passkeys.
$("#passkey-signin").addEventListener("click", async () => {
  status("");
  const r = await passkey(() => client.signInWithPasskey(), "No passkey used");
  if (r) await afterFirstStep(r);
});

$("#passkey-add").addEventListener("click", async () => {
  status("");
  const r = await passkey(() => client.registerPasskey({ name: "Passkey on " + navigator.platform }), "No passkey added");
  if (!r) return;
  // The first factor comes with recovery codes, shown once.
  if (r.recoveryCodes) {
    $("#recovery-codes").replaceChildren(...r.recoveryCodes.map((c) => Object.assign(document.createElement("li"), { textContent: c })));
    $("#recovery").hidden = false;
  }
  await showPasskeys();
});

async function showPasskeys() {
  const passkeys = await client.listPasskeys().catch(() => undefined);
  if (!passkeys) return;
  $("#passkeys").replaceChildren(...passkeys.map((p) => Object.assign(document.createElement("li"), {
    textContent: `${p.name} · added ${new Date(p.createdAt).toLocaleString()}` + (p.lastUsedAt ? ` · last used ${new Date(p.lastUsedAt).toLocaleString()}` : ""),
  })));
}

// The list follows the signed-in panel: filled when it shows, emptied when
// it hides.
new MutationObserver(() => {
  if ($("#signed-in").hidden) $("#passkeys").replaceChildren();
  else showPasskeys();
}).observe($("#signed-in"), { attributes: true, attributeFilter: ["hidden"] });
