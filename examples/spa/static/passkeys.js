// Passkeys in the example SPA: the part to copy. WebAuthn deals in
// ArrayBuffers, Portcullis in base64url strings; the two converters below
// are the only places that know, for both ceremonies. Every ceremony is two
// calls: options (with a flowId), then the browser's answer with that flowId.
// Loaded after app.js, whose api, $, status, errorText and afterFirstStep it uses.
import { API, $, status, afterFirstStep, api, responseErrorText as errorText } from "./app.js";

const base64url = {
  toBuffer: (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0)).buffer,
  fromBuffer: (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
};

// toBrowser turns Portcullis's options ({publicKey: …}) into what
// navigator.credentials.create and .get take.
function toBrowser({ publicKey }) {
  const pk = { ...publicKey, challenge: base64url.toBuffer(publicKey.challenge) };
  if (pk.user) pk.user = { ...pk.user, id: base64url.toBuffer(pk.user.id) };
  for (const list of ["excludeCredentials", "allowCredentials"]) {
    if (pk[list]) pk[list] = pk[list].map((c) => ({ ...c, id: base64url.toBuffer(c.id) }));
  }
  return { publicKey: pk };
}

// fromBrowser turns the browser's PublicKeyCredential into the JSON
// Portcullis takes (registration and assertion alike).
function fromBrowser(cred) {
  const r = cred.response;
  const response = { clientDataJSON: base64url.fromBuffer(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = base64url.fromBuffer(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    response.authenticatorData = base64url.fromBuffer(r.authenticatorData);
    response.signature = base64url.fromBuffer(r.signature);
    if (r.userHandle) response.userHandle = base64url.fromBuffer(r.userHandle);
  }
  return {
    id: cred.id, rawId: base64url.fromBuffer(cred.rawId), type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment, clientExtensionResults: cred.getClientExtensionResults(), response,
  };
}

// ceremony runs one: options from optionsPath, the browser's part, then the
// answer to finishPath (with extra fields). It returns the last response.
async function ceremony(optionsPath, browserCall, finishPath, extra = {}) {
  const res = await api(optionsPath, { method: "POST" });
  if (!res.ok) return res;
  const { flowId, options } = await res.json();
  const cred = await browserCall(toBrowser(options));
  return api(finishPath, { method: "POST", body: { flowId, credential: fromBrowser(cred), ...extra } });
}

const registerPasskey = (name) =>
  ceremony("/auth/passkeys/register/options", (o) => navigator.credentials.create(o), "/auth/passkeys/register", { name });
const signInWithPasskey = () =>
  ceremony("/auth/passkeys/login/options", (o) => navigator.credentials.get(o), "/auth/passkeys/login");

// The page: a sign-in button, and the signed-in user's passkeys.
$("#passkey-signin").addEventListener("click", async () => {
  status("");
  try {
    const res = await signInWithPasskey();
    if (!res.ok) return status(await errorText(res));
    await afterFirstStep(await res.json());
  } catch (e) {
    status(`No passkey used (${e.name}).`);
  }
});

$("#passkey-add").addEventListener("click", async () => {
  status("");
  try {
    const res = await registerPasskey("Passkey on " + navigator.platform);
    if (!res.ok) return status(await errorText(res));
    const { recoveryCodes } = await res.json();
    // The first factor comes with recovery codes, shown once.
    if (recoveryCodes) {
      $("#recovery-codes").replaceChildren(...recoveryCodes.map((c) => Object.assign(document.createElement("li"), { textContent: c })));
      $("#recovery").hidden = false;
    }
    await showPasskeys();
  } catch (e) {
    status(`No passkey added (${e.name}).`);
  }
});

async function showPasskeys() {
  const res = await api("/auth/passkeys");
  if (!res.ok) return;
  const { passkeys } = await res.json();
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
