// The example SPA: every call goes to Portcullis through @portcullis/client
// (./client/, the compiled clients/js), with credentials included, so the
// browser sends and stores its HttpOnly cookies; the page never sees a token.
// The client refreshes an expired session once, across tabs, and retries.
import { createClient } from "./client/index.js";

const API = window.PORTCULLIS_API;
// Through window.fetch at call time, so captcha.js can add its header.
const client = createClient({ baseUrl: API, fetch: (input, init) => window.fetch(input, init) });

const $ = (sel) => document.querySelector(sel);
// status shows an error (red); success shows a success (green).
const status = (text, ok = false) => {
  $("#status").textContent = text || "";
  $("#status").classList.toggle("ok", ok);
};
const success = (text) => status(text, true);

// errorText is what the page shows for a PortcullisError.
function errorText(err) {
  if (err.code === "network_error") return cannotReach();
  const fields = Object.entries(err.fields || {}).map(([f, msgs]) => `${f} ${msgs.join(", ")}`);
  return [err.message, ...fields].join("; ");
}

// A fetch that fails outright (not an HTTP error) usually means CORS: the
// browser hides the answer when this origin is not in AUTH_ALLOWED_ORIGINS.
function cannotReach() {
  if ($("#signed-in").hidden && $("#signed-out").hidden) showSignedOut();
  return `Cannot reach Portcullis at ${API}. Is it running with AUTH_ALLOWED_ORIGINS=${location.origin}?`;
}

// attempt runs a call and shows its error, if any; it returns undefined then.
async function attempt(call) {
  try {
    return await call();
  } catch (err) {
    status(errorText(err));
    return undefined;
  }
}

function showSignedOut() {
  $("#signed-in").hidden = true;
  $("#signed-out").hidden = false;
  $("#sessions").replaceChildren();
  // What was shown once is gone with the user.
  $("#recovery-codes").replaceChildren();
  $("#recovery").hidden = true;
  $("#totp-form").hidden = true;
  $("#totp-secret").textContent = "";
  $("#totp-qr").removeAttribute("src");
}

async function showMe() {
  let me;
  try {
    me = await client.getUser();
  } catch (err) {
    showSignedOut();
    if (err.status !== 401) status(errorText(err));
    return;
  }
  const { user, session } = me;
  $("#me-name").textContent = user.name;
  $("#me-email").textContent = user.email;
  $("#me-role").textContent = user.role;
  $("#me-expires").textContent = new Date(session.expiresAt).toLocaleString();
  $("#signed-out").hidden = true;
  $("#signed-in").hidden = false;
  await Promise.all([showSessions(), showFactors()]);
}

// showFactors says whether two-step sign-in is on.
async function showFactors() {
  const got = await client.listFactors().catch(() => undefined);
  if (!got) return;
  const { factors, recoveryCodesRemaining } = got;
  const on = factors.some((f) => f.status === "active");
  $("#mfa-state").textContent = on
    ? `Two-step sign-in is on (${recoveryCodesRemaining} recovery codes left).`
    : "Two-step sign-in is off.";
  $("#totp-start").hidden = on;
}

async function showSessions() {
  const sessions = await client.listSessions().catch(() => undefined);
  if (!sessions) return;
  const items = sessions.map((s) => {
    const li = document.createElement("li");
    li.dataset.id = s.id;
    const label = document.createElement("span");
    label.textContent = `${s.userAgent || "unknown device"} · ${s.ip} · since ${new Date(s.createdAt).toLocaleString()}`;
    li.append(label);
    if (s.current) {
      const here = document.createElement("span");
      here.className = "current";
      here.textContent = "this device";
      li.append(here);
    } else {
      const btn = document.createElement("button");
      btn.textContent = "Sign out this device";
      btn.className = "revoke";
      btn.addEventListener("click", async () => {
        await attempt(() => client.revokeSession(s.id));
        await showSessions();
      });
      li.append(btn);
    }
    return li;
  });
  $("#sessions").replaceChildren(...items);
}

// signInWith submits a form through send (signIn or signUp) and shows the
// user on success, or the second step when the account has one.
function signInWith(form, send) {
  $(form).addEventListener("submit", async (e) => {
    e.preventDefault();
    status("");
    const r = await attempt(send);
    if (r) await afterFirstStep(r);
  });
}

// The second step: the first answered mfaRequired and an mfaToken, which
// the client keeps in this tab's memory only.
async function afterFirstStep(r) {
  if ("status" in r) return status("Check your inbox: confirm your address, then sign in.");
  if (!("mfaRequired" in r)) return showMe();
  $("#mfa-form").hidden = false;
  $("#mfa-code").focus();
}
$("#mfa-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const ok = await attempt(() => client.verifyMfa({ code: $("#mfa-code").value, recoveryCode: $("#mfa-recovery").value }));
  if (!ok) return;
  $("#mfa-form").hidden = true;
  await showMe();
});

// Enrolling an authenticator app: the QR code, then its first code, then the
// recovery codes, shown once.
let pendingFactor = "";
$("#totp-start").addEventListener("click", async () => {
  const e = await attempt(() => client.enrollTotp({ name: "Authenticator app" }));
  if (!e) return;
  pendingFactor = e.factor.id;
  $("#totp-qr").src = e.qrCode;
  $("#totp-secret").textContent = e.secret;
  $("#totp-form").hidden = false;
  $("#totp-start").hidden = true;
});
$("#totp-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const got = await attempt(() => client.verifyTotp(pendingFactor, $("#totp-code").value));
  if (!got) return;
  const { recoveryCodes } = got;
  $("#totp-form").hidden = true;
  $("#recovery-codes").replaceChildren(...(recoveryCodes || []).map((c) => Object.assign(document.createElement("li"), { textContent: c })));
  $("#recovery").hidden = !recoveryCodes;
  await showFactors();
});

signInWith("#login-form", () => client.signIn({
  email: $("#login-email").value, password: $("#login-password").value, rememberMe: $("#login-remember").checked,
}));
signInWith("#register-form", () => client.signUp({
  name: $("#register-name").value, email: $("#register-email").value, password: $("#register-password").value,
}));

$("#check").addEventListener("click", () => showMe());

$("#logout").addEventListener("click", async () => {
  await attempt(() => client.signOut());
  showSignedOut();
});

// Another tab signed out (or its session ended): show it here too.
client.onAuthStateChange((event) => {
  if (event === "SIGNED_OUT") showSignedOut();
});

// The pages mailed links open. A GET only shows the page: the token is
// spent by the POST its button makes.
const token = new URLSearchParams(location.search).get("token") || "";
const page = document.getElementById("page-" + location.pathname.slice(1));

// onSubmit runs send on a form's submit (or a button's click) and shows its
// outcome.
function onSubmit(sel, send) {
  const el = $(sel);
  el.addEventListener(el.tagName === "FORM" ? "submit" : "click", async (e) => {
    e.preventDefault();
    status("");
    await send();
  });
}

// done runs call and shows message when it succeeds; it reports success.
async function done(call, message) {
  try {
    await call();
    success(message);
    return true;
  } catch (err) {
    status(errorText(err));
    return false;
  }
}

onSubmit("#forgot-form", async () => {
  await done(() => client.requestPasswordReset($("#forgot-email").value), "If that address has an account, a reset link is on its way.");
});
onSubmit("#reset-form", async () => {
  if (await done(() => client.resetPassword({ token, password: $("#reset-password").value }), "Your password is changed. Sign in with it.")) {
    $("#reset-form").hidden = true;
  }
});
onSubmit("#verify-submit", async () => {
  if (await done(() => client.verifyEmail(token), "Your email address is confirmed.")) $("#verify-submit").hidden = true;
});
onSubmit("#change-submit", async () => {
  if (await done(() => client.confirmEmailChange(token), "Your email address is changed.")) $("#change-submit").hidden = true;
});
onSubmit("#sign-in-link-submit", async () => {
  const r = await attempt(() => client.signInWithCode({ token }));
  if (!r) return;
  history.replaceState(null, "", "/");
  page.hidden = true;
  $("#signed-out").hidden = false;
  await afterFirstStep(r);
});
onSubmit("#code-request-form", async () => {
  await done(() => client.requestSignInCode($("#code-email").value), "If that address has an account, a code is on its way.");
});
onSubmit("#code-form", async () => {
  const r = await attempt(() => client.signInWithCode({ email: $("#code-email").value, code: $("#code").value }));
  if (!r) return;
  history.replaceState(null, "", "/");
  page.hidden = true;
  $("#signed-out").hidden = false;
  await afterFirstStep(r);
});

if (page) {
  page.hidden = false;
  $("#sign-in-link").hidden = !token;
} else {
  showMe();
}

// For passkeys.js and social.js, which are small modules of their own.
// api calls a path of Portcullis through client.fetch (one refresh, across
// tabs, when the session expired) and answers the Response;
// responseErrorText is what the page shows for a failed one.
function api(path, { method = "GET", body } = {}) {
  return client.fetch(API + path, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
async function responseErrorText(res) {
  const err = await res.json().catch(() => ({}));
  if (!err.error) return `request failed (${res.status})`;
  const fields = Object.entries(err.error.fields || {}).map(([f, msgs]) => `${f} ${msgs.join(", ")}`);
  return [err.error.message, ...fields].join("; ");
}
export { API, client, $, status, attempt, afterFirstStep, api, responseErrorText };
