// The example SPA: every call goes to Portcullis with credentials included, so
// the browser sends and stores its HttpOnly cookies; the page never sees a token.
const API = window.PORTCULLIS_API;

const $ = (sel) => document.querySelector(sel);
// status shows an error (red); success shows a success (green).
const status = (text, ok = false) => {
  $("#status").textContent = text || "";
  $("#status").classList.toggle("ok", ok);
};
const success = (text) => status(text, true);

// api calls Portcullis. On 401 token_expired it refreshes the session once and
// retries: the pattern to copy. Any other 401 means "sign in again".
async function api(path, { method = "GET", body } = {}, retried = false) {
  const res = await fetch(API + path, {
    method,
    credentials: "include",
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && !retried) {
    const err = await res.clone().json().catch(() => ({}));
    if (err.error && err.error.code === "token_expired") {
      const refreshed = await fetch(API + "/auth/refresh", { method: "POST", credentials: "include" });
      if (refreshed.ok) return api(path, { method, body }, true);
    }
  }
  return res;
}

async function errorText(res) {
  const err = await res.json().catch(() => ({}));
  if (!err.error) return `request failed (${res.status})`;
  const fields = Object.entries(err.error.fields || {}).map(([f, msgs]) => `${f} ${msgs.join(", ")}`);
  return [err.error.message, ...fields].join("; ");
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
  const res = await api("/auth/me");
  if (!res.ok) {
    showSignedOut();
    if (res.status !== 401) status(await errorText(res));
    return;
  }
  const { user, session } = await res.json();
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
  const res = await api("/auth/mfa");
  if (!res.ok) return;
  const { factors, recoveryCodesRemaining } = await res.json();
  const on = factors.some((f) => f.status === "active");
  $("#mfa-state").textContent = on
    ? `Two-step sign-in is on (${recoveryCodesRemaining} recovery codes left).`
    : "Two-step sign-in is off.";
  $("#totp-start").hidden = on;
}

async function showSessions() {
  const res = await api("/auth/sessions");
  if (!res.ok) return;
  const { sessions } = await res.json();
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
        const del = await api(`/auth/sessions/${s.id}`, { method: "DELETE" });
        if (!del.ok) status(await errorText(del));
        await showSessions();
      });
      li.append(btn);
    }
    return li;
  });
  $("#sessions").replaceChildren(...items);
}

// signInWith posts a form's fields to path and shows the user on success,
// or the second step when the account has one.
function signInWith(form, path, fields) {
  $(form).addEventListener("submit", async (e) => {
    e.preventDefault();
    status("");
    const res = await api(path, { method: "POST", body: fields() });
    if (!res.ok) return status(await errorText(res));
    await afterFirstStep(await res.json());
  });
}

// The second step: the first answered mfaRequired and an mfaToken, which
// the page keeps in memory only.
let mfaToken = "";
async function afterFirstStep(body) {
  if (!body.mfaRequired) return showMe();
  mfaToken = body.mfaToken;
  $("#mfa-form").hidden = false;
  $("#mfa-code").focus();
}
$("#mfa-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const res = await api("/auth/mfa/verify", { method: "POST", body: { mfaToken, code: $("#mfa-code").value, recoveryCode: $("#mfa-recovery").value } });
  if (!res.ok) return status(await errorText(res));
  mfaToken = "";
  $("#mfa-form").hidden = true;
  await showMe();
});

// Enrolling an authenticator app: the QR code, then its first code, then the
// recovery codes, shown once.
let pendingFactor = "";
$("#totp-start").addEventListener("click", async () => {
  const res = await api("/auth/mfa/totp", { method: "POST", body: { name: "Authenticator app" } });
  if (!res.ok) return status(await errorText(res));
  const e = await res.json();
  pendingFactor = e.factor.id;
  $("#totp-qr").src = e.qrCode;
  $("#totp-secret").textContent = e.secret;
  $("#totp-form").hidden = false;
  $("#totp-start").hidden = true;
});
$("#totp-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const res = await api(`/auth/mfa/totp/${pendingFactor}/verify`, { method: "POST", body: { code: $("#totp-code").value } });
  if (!res.ok) return status(await errorText(res));
  const { recoveryCodes } = await res.json();
  $("#totp-form").hidden = true;
  $("#recovery-codes").replaceChildren(...(recoveryCodes || []).map((c) => Object.assign(document.createElement("li"), { textContent: c })));
  $("#recovery").hidden = !recoveryCodes;
  await showFactors();
});

signInWith("#login-form", "/auth/login", () => ({
  email: $("#login-email").value, password: $("#login-password").value, rememberMe: $("#login-remember").checked,
}));
signInWith("#register-form", "/auth/register", () => ({
  name: $("#register-name").value, email: $("#register-email").value, password: $("#register-password").value,
}));

$("#check").addEventListener("click", () => showMe());

$("#logout").addEventListener("click", async () => {
  await api("/auth/logout", { method: "POST" });
  showSignedOut();
});

// A fetch that fails outright (not an HTTP error) usually means CORS: the
// browser hides the answer when this origin is not in AUTH_ALLOWED_ORIGINS.
window.addEventListener("unhandledrejection", (e) => {
  if (e.reason instanceof TypeError) {
    status(`Cannot reach Portcullis at ${API}. Is it running with AUTH_ALLOWED_ORIGINS=${location.origin}?`);
    if ($("#signed-in").hidden && $("#signed-out").hidden) showSignedOut();
  }
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

onSubmit("#forgot-form", async () => {
  const res = await api("/auth/password/forgot", { method: "POST", body: { email: $("#forgot-email").value } });
  if (res.ok) success("If that address has an account, a reset link is on its way."); else status(await errorText(res));
});
onSubmit("#reset-form", async () => {
  const res = await api("/auth/password/reset", { method: "POST", body: { token, password: $("#reset-password").value } });
  if (res.ok) success("Your password is changed. Sign in with it."); else status(await errorText(res));
  if (res.ok) $("#reset-form").hidden = true;
});
onSubmit("#verify-submit", async () => {
  const res = await api("/auth/email/verify", { method: "POST", body: { token } });
  if (!res.ok) return status(await errorText(res));
  success("Your email address is confirmed.");
  $("#verify-submit").hidden = true;
});
onSubmit("#change-submit", async () => {
  const res = await api("/auth/email/change/confirm", { method: "POST", body: { token } });
  if (!res.ok) return status(await errorText(res));
  success("Your email address is changed.");
  $("#change-submit").hidden = true;
});
onSubmit("#sign-in-link-submit", async () => {
  const res = await api("/auth/sign-in/email/verify", { method: "POST", body: { token } });
  if (!res.ok) return status(await errorText(res));
  history.replaceState(null, "", "/");
  page.hidden = true;
  $("#signed-out").hidden = false;
  await afterFirstStep(await res.json());
});
onSubmit("#code-request-form", async () => {
  const res = await api("/auth/sign-in/email", { method: "POST", body: { email: $("#code-email").value } });
  if (res.ok) success("If that address has an account, a code is on its way."); else status(await errorText(res));
});
onSubmit("#code-form", async () => {
  const res = await api("/auth/sign-in/email/verify", { method: "POST", body: { email: $("#code-email").value, code: $("#code").value } });
  if (!res.ok) return status(await errorText(res));
  history.replaceState(null, "", "/");
  page.hidden = true;
  $("#signed-out").hidden = false;
  await afterFirstStep(await res.json());
});

if (page) {
  page.hidden = false;
  $("#sign-in-link").hidden = !token;
} else {
  showMe();
}
